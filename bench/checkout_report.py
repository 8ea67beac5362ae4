"""bench/checkout.py's figures divided by the baselines of the same run, printed: each fixed
rate's p50/p99 latency in raw Kafka hops (p50 of one produce -> consume hop with the platform's
settings), the highest sustained orders/s against raw ``update_one`` writes/s (the faster of
sequential and threaded), and where the time goes (median phases per run, Stripe requests per
order). Consumes the result dict the bench builds; produces the ratios it stores with it.
"""

from __future__ import annotations

from typing import Any

from checkout_phases import PHASES

SHORT = {
    "tap_until_order_created": "tap>created",
    "hold_and_order_written": "hold+order",
    "confirm_until_committed": "confirm",
    "confirmed_relayed_to_topic": "conf>topic",
    "topic_to_first_stripe_call": "topic>stripe",
    "stripe_calls": "stripe",
    "stripe_inside_fake": "(in fake)",
    "stripe_between_requests": "(between)",
    "capture_decided": "capture",
    "capture_relayed_to_bench": "to bench",
}


def in_hops(value: float | None, hop_ms: float) -> float | None:
    return None if value is None else round(value / hop_ms, 1)


def report(result: dict[str, Any]) -> dict[str, Any]:
    hop = result["baselines"]["kafka_hop_ms"]
    writes = result["baselines"]["raw_update_one_per_s"]
    raw_writes = max(writes.values())
    print(f"baselines: Kafka hop p50 {hop['p50']} ms p99 {hop['p99']} ms; raw update_one {writes} /s")
    ratios: dict[str, Any] = {"latency_in_kafka_hops": {}}
    for runs in result["fixed_rates"].values():
        for run in runs:
            latency = run["latency_ms"]
            ratios["latency_in_kafka_hops"][run["label"]] = {
                "p50": in_hops(latency["p50"], hop["p50"]),
                "p99": in_hops(latency["p99"], hop["p50"]),
            }
    best = result["search"]["highest_sustained_per_s"]
    ratios["sustained_orders_over_raw_writes"] = None if best is None else round(best / raw_writes, 4)
    ratios["raw_writes_per_sustained_order"] = None if not best else round(raw_writes / best, 1)
    print("latency / Kafka hop p50:")
    for label, figures in ratios["latency_in_kafka_hops"].items():
        print(f"  {label:<18} p50 {figures['p50']} hops  p99 {figures['p99']} hops")
    print(
        f"highest sustained: {best} orders/s (stopped by: {result['search']['stopped_by']}); "
        f"/ raw writes {ratios['sustained_orders_over_raw_writes']} "
        f"(one order per {ratios['raw_writes_per_sustained_order']} raw writes' time)"
    )
    print_phases(result)
    return ratios


def print_phases(result: dict[str, Any]) -> None:
    columns = [*PHASES[:6], "stripe_inside_fake", "stripe_between_requests", *PHASES[6:]]
    print("where the time goes, median ms per phase (orders with every timestamp found):")
    print(f"  {'run':<18} {'orders':>6} " + " ".join(f"{SHORT[c]:>11}" for c in columns) + f" {'p50':>8}")
    fixed = [run for runs in result["fixed_rates"].values() for run in runs]
    for run in [*fixed, *result["search"]["steps"]]:
        phases = run["phases"]
        if not phases["orders"]:
            print(f"  {run['label']:<18} no order with every timestamp")
            continue
        cells = " ".join(f"{phases['median_ms'][c]:>11.1f}" for c in columns)
        print(f"  {run['label']:<18} {phases['orders']:>6} {cells} {run['latency_ms']['p50']:>8}")
    print("CPU ms per order (whole run, settling included):")
    for run in [*fixed, *result["search"]["steps"]]:
        print(f"  {run['label']:<18} {run['cpu_ms_per_order']}")
    print("Stripe requests per paid order (mean duration at the fake):")
    for endpoint, figures in result["stripe_requests"].items():
        print(f"  {endpoint:<40} {figures['per_paid_order']:>5} x {figures['mean_ms']:>7.1f} ms")
