"""bench/relay.py's figures divided by the raw baseline of the same run, printed: the relay's
delivered/s (the drain: the delivery path alone; the burst: consume and delivery) over raw
POSTs/s (the mean of the baseline before and after them; target at least 0.5), the fixed rate's
latency, and where the time goes: each step's rate alone as a ceiling on deliveries/s, and the
CPU per delivery of each process (the relay is one Python process: at most one core; with the
local stack, its database server and broker too, and the ceiling all of them together put on
this machine's cores). Consumes
the result dict the bench builds; produces the ratios it stores with it.
"""

from __future__ import annotations

from typing import Any

TARGET = 0.5


def ratio(value: float, baseline: float) -> float | None:
    return round(value / baseline, 3) if baseline else None


def ceilings(result: dict[str, Any]) -> dict[str, float]:
    """Deliveries per second each step alone would allow (CPU steps: on one core)."""
    steps = result["steps"]
    found = {
        "sign": round(1e6 / steps["sign_us"], 1),
        "message": round(1e6 / steps["message_us"], 1),
        **{name: steps[name]["per_s"] for name in ("vault_read", "topic_publish", "lease_writes", "reads")},
    }
    spent = result["drain"]["cpu_ms_per_delivery"]
    relay_cpu = spent.get("merchant-relay")
    if relay_cpu:
        found["merchant-relay CPU (one core)"] = round(1000 / relay_cpu, 1)
    if "database" in spent:
        found["database server CPU (one core)"] = round(1000 / spent["database"], 1)
    every_process = sum(ms for name, ms in spent.items() if name != "bench")
    cores = result["machine"]["cpus"] or 1
    if every_process:
        found[f"the machine's CPU ({cores} cores, all processes)"] = round(cores * 1000 / every_process, 1)
    return found


def report(result: dict[str, Any]) -> dict[str, Any]:
    raw = result["raw_posts"]
    baseline = (raw["before"]["posts_per_s"] + raw["after"]["posts_per_s"]) / 2
    ratios = {
        "raw_posts_per_s": round(baseline, 1),
        "drain_over_raw": ratio(result["drain"]["delivered_per_s"], baseline),
        "burst_over_raw": ratio(result["burst"]["delivered_per_s"], baseline),
        "target": TARGET,
        "ceilings_per_s": ceilings(result),
    }
    print(
        f"raw POSTs: {raw['before']['posts_per_s']}/s before, {raw['after']['posts_per_s']}/s after "
        f"({raw['before']['concurrency']} at a time, {raw['before']['body_bytes']} bytes, "
        f"statuses {raw['before']['statuses']} / {raw['after']['statuses']})"
    )
    for run in ("drain", "burst"):
        figures = result[run]
        met = "meets" if (ratios[f"{run}_over_raw"] or 0) >= TARGET else "misses"
        print(
            f"{run:<6} {figures['delivered_per_s']:>7}/s over {figures['seconds']} s = "
            f"{ratios[f'{run}_over_raw']} of raw ({met} the {TARGET} target); received "
            f"{figures['received']}/{figures['orders']}, unverified {figures['unverified']}, "
            f"repeats {figures['repeats']}, attempts {figures['attempts']}, {figures['body_bytes']} bytes"
        )
    rated = result["fixed_rate"]
    latency = rated["latency_ms"]
    print(
        f"fixed rate {rated['target_per_s']}/s (offered {rated['offered_per_s']}/s): PaymentCaptured "
        f"on the topic -> received p50 {latency['p50']} ms p99 {latency['p99']} ms max {latency['max']} ms; "
        f"received {rated['received']}/{rated['orders']}, attempts {rated['attempts']}"
    )
    print("where the time goes: each step alone, deliveries/s it would allow")
    steps = result["steps"]
    for name, per_s in ratios["ceilings_per_s"].items():
        detail = steps.get(name)
        mean = f" (mean {detail['mean_ms']} ms each, in flight: lanes)" if isinstance(detail, dict) else ""
        print(f"  {name:<32} {per_s:>9}/s{mean}")
    print(f"  sign {steps['sign_us']} us, message {steps['message_us']} us per call")
    raw_write = steps["raw_update_one"]
    print(f"  raw update_one, the same way: {raw_write['per_s']}/s (mean {raw_write['mean_ms']} ms)")
    for run in ("burst", "drain", "fixed_rate"):
        print(f"CPU ms per delivery, {run}: {result[run]['cpu_ms_per_delivery']}")
        print(f"database operations per delivery, {run}: {result[run]['db_operations_per_delivery']}")
    return ratios
