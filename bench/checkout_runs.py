"""One measured load run of bench/checkout.py and the step-up search for the highest sustained
rate, on a shop that is already open.

A run: orders at a fixed rate for a while (checkout_load.open_loop), then up to ``settle_s``
for every confirmed order's PaymentCaptured to reach the topic; its figures are the latency
from the tap request to PaymentCaptured observed (p50/p99/max), the rate offered and paid, the
errors, the orders late (confirmed, not captured within ``settle_s``; ``final_check`` counts
the ones never captured at all), the orders charged
more than once or captured without a charge at the fake (``/_fake/charges``), the phases of
checkout_phases.py, and the CPU each of our processes spent per order (the shop's two
services and the bench itself; the shared broker, database and fake are not counted).

A rate is sustained when its run has no error, nothing lost, no double or missing charge, the
bench kept the schedule (offered at least 95 % of the rate), p99 stays within ``slo_ms`` and
latency does not climb during the run (the median of the last quarter of the orders within
twice that of the first quarter plus 250 ms): a shop that falls behind builds a queue, and the
queue shows as latency that grows with every order.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import httpx
from checkout_load import CapturedWatcher, Run, open_loop
from checkout_phases import keyed_requests, median_phases
from kafka_hop import percentile
from shop_support import Shop
from timeline_breakdown import cpu_seconds


@dataclass(frozen=True)
class Measuring:
    """What every run of one bench shares."""

    http: httpx.AsyncClient
    shop: Shop
    watcher: CapturedWatcher
    orders: Any  # checkout's orders collection (pymongo), read for created_at / confirmed_at
    settle_s: float
    confirmed: set[str] = dataclasses.field(default_factory=set)  # by every run so far


def cpu_now(shop: Shop) -> dict[str, float | None]:
    return {
        "checkout-service": cpu_seconds(shop.checkouts[0].process.pid),
        "vault-service": cpu_seconds(shop.vault.process.pid),
        "bench": time.process_time(),
    }


async def measure_run(m: Measuring, *, label: str, per_s: float, duration_s: float) -> dict[str, Any]:
    cpu_before = cpu_now(m.shop)
    run = await open_loop(m.http, m.shop, label=label, per_s=per_s, duration_s=duration_s)
    confirmed = run.confirmed_ids()
    m.confirmed.update(confirmed)
    lost = await m.watcher.wait_for(confirmed, m.settle_s)
    figures = figures_of(m, run, confirmed, lost)
    figures["cpu_ms_per_order"] = {
        name: round((after - before) * 1000 / len(run.orders), 1)
        for (name, before), after in zip(cpu_before.items(), cpu_now(m.shop).values(), strict=True)
        if before is not None and after is not None
    }
    return figures


def figures_of(m: Measuring, run: Run, confirmed: set[str], lost: set[str]) -> dict[str, Any]:
    seen = m.watcher.seen
    paid = [o for o in run.orders if o.order_id in confirmed and o.order_id in seen]
    latencies = [(seen[o.order_id].observed - o.tap_sent) * 1000 for o in paid if o.order_id]
    quarter = max(1, len(latencies) // 4)
    charged = m.shop.stripe.charges()["orders"]
    charges = {order_id: charged.get(order_id, {}).get("charges", 0) for order_id in confirmed}
    documents = {d["_id"]: d for d in m.orders.find({"_id": {"$in": sorted(confirmed)}})}
    stripe = keyed_requests(m.shop.stripe.requests(limit=10_000)["recent"])
    span_s = max((seen[o.order_id].observed for o in paid if o.order_id), default=0.0) - min(
        (o.tap_sent for o in run.orders), default=0.0
    )
    return {
        "label": run.label,
        "target_per_s": run.target_per_s,
        "offered_per_s": round(run.offered_per_s(), 2),
        "paid_per_s": round(len(paid) / span_s, 2) if paid and span_s > 0 else 0.0,
        "orders": len(run.orders),
        "errors": len(run.errors()),
        "error_kinds": sorted(set(run.errors())),
        "late": len(lost),
        "double_charged": sum(n > 1 for n in charges.values()),
        "captured_without_charge": sum(charges[i] == 0 for i in confirmed - lost),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5), 1) if latencies else None,
            "p99": round(percentile(latencies, 0.99), 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
            "first_quarter_p50": round(percentile(latencies[:quarter], 0.5), 1) if latencies else None,
            "last_quarter_p50": round(percentile(latencies[-quarter:], 0.5), 1) if latencies else None,
        },
        "phases": median_phases(run.orders, seen, m.watcher.confirmed_seen, documents, stripe),
    }


async def final_check(m: Measuring, timeout_s: float) -> dict[str, int]:
    """After every run: the orders never captured (waited for up to ``timeout_s`` more) and
    those the fake charged other than exactly once, over the whole bench."""
    lost = await m.watcher.wait_for(m.confirmed, timeout_s)
    charged = m.shop.stripe.charges()["orders"]
    charges = [charged.get(order_id, {}).get("charges", 0) for order_id in m.confirmed]
    return {
        "confirmed": len(m.confirmed),
        "lost": len(lost),
        "charged_twice_or_more": sum(n > 1 for n in charges),
        "paid_without_a_charge": sum(n == 0 for n in charges) - len(lost),
    }


def sustained(figures: dict[str, Any], slo_ms: float) -> str | None:
    """None when the run's rate was sustained, else why not."""
    latency = figures["latency_ms"]
    p99, first, last = latency["p99"], latency["first_quarter_p50"], latency["last_quarter_p50"]
    climbing = first is not None and last is not None and last > 2 * first + 250
    reasons = [
        f"{figures['errors']} errors {figures['error_kinds']}" if figures["errors"] else "",
        f"{figures['late']} late" if figures["late"] else "",
        f"{figures['double_charged']} charged twice" if figures["double_charged"] else "",
        f"{figures['captured_without_charge']} paid, uncharged" if figures["captured_without_charge"] else "",
        "the bench fell behind its schedule"
        if figures["offered_per_s"] < 0.95 * figures["target_per_s"]
        else "",
        f"p99 {p99} ms over {slo_ms:.0f} ms" if p99 is None or p99 > slo_ms else "",
        f"latency climbed from {first} to {last} ms (p50, first to last quarter)" if climbing else "",
    ]
    return "; ".join(r for r in reasons if r) or None


async def step_up(
    m: Measuring, *, start_per_s: float, factor: float, duration_s: float, budget_s: float, slo_ms: float
) -> dict[str, Any]:
    """Rates from ``start_per_s`` up by ``factor`` until one is not sustained or the budget (a
    new step starts only within it) is spent; the highest sustained one is the answer."""
    deadline = time.monotonic() + budget_s
    steps: list[dict[str, Any]] = []
    best, per_s = None, start_per_s
    while time.monotonic() < deadline:
        figures = await measure_run(m, label=f"step-{len(steps)}", per_s=per_s, duration_s=duration_s)
        figures["not_sustained_because"] = sustained(figures, slo_ms)
        steps.append(figures)
        print_run(figures)
        if figures["not_sustained_because"] is not None:
            break
        best, per_s = figures, round(per_s * factor, 1)
    return {
        "highest_sustained_per_s": None if best is None else best["target_per_s"],
        "paid_per_s_at_it": None if best is None else best["paid_per_s"],
        "stopped_by": (steps[-1]["not_sustained_because"] if steps else None) or "the time budget",
        "steps": steps,
    }


def print_run(f: dict[str, Any]) -> None:
    latency = f["latency_ms"]
    verdict = f.get("not_sustained_because", "-")
    print(
        f"  {f['label']:<18} {f['target_per_s']:>6.1f}/s offered {f['offered_per_s']:>6.1f}/s "
        f"paid {f['paid_per_s']:>6.1f}/s  p50 {latency['p50']} ms  p99 {latency['p99']} ms  "
        f"orders {f['orders']} errors {f['errors']}{f['error_kinds'] or ''} late {f['late']} "
        f"double {f['double_charged']}"
        + ("" if verdict == "-" else f"  {'sustained' if verdict is None else 'NOT sustained: ' + verdict}")
    )
