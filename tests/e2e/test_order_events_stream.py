"""The live status stream a buyer's web app follows: ``GET /v1/orders/{id}/events``
(server-sent events) on checkout-service as a process, read with httpx streaming while the
order is confirmed and paid through the fake Stripe. The buyer sees held → confirming → paid
in that order, never going back, an event only when what GET shows changed (the card shown
once attached is such a change within confirming), and the stream ends by itself at paid;
another buyer's stream answers 404 and one without a token 401, before any event.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
from shop_support import ShopSetup, new_card_confirmation

PIA = "buyer-pia-follows"
STRANGER = "buyer-sam-stranger"
STRIPE_DELAY_MS = 1_500  # long enough for the stream (polling every 0.25 s) to show confirming


def state_events(lines: Iterator[str], deadline: float) -> Iterator[dict[str, Any]]:
    """Each ``state`` event's data (the order as GET shows it); comment lines are heartbeats.
    A stream still open at ``deadline`` fails (checked at each line; httpx's read timeout bounds
    the wait for one)."""
    name, data = None, []
    for line in lines:
        assert time.monotonic() < deadline, "the stream did not end at paid"
        if line.startswith(":"):
            continue
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
        elif line == "" and data:
            assert name == "state", name
            yield json.loads("\n".join(data))
            name, data = None, []


def test_stream_shows_each_state_and_ends_at_paid(shop_setup: ShopSetup) -> None:
    with shop_setup.open() as shop:
        order_id = shop.tap(PIA, "pia-tap").json()["order_id"]
        path = f"/v1/orders/{order_id}/events"
        unauthenticated = shop.client.get(path)
        strangers = shop.client.get(path, headers=shop.buyer(STRANGER))
        shop.stripe.arm("delay_ms", path="/v1/payment_intents", method="POST", delay_ms=STRIPE_DELAY_MS)
        seen: list[dict[str, Any]] = []
        started = time.monotonic()
        with (
            httpx.Client(base_url=str(shop.client.base_url), timeout=20) as follower,
            follower.stream("GET", path, headers=shop.buyer(PIA)) as stream,
        ):
            content_type = stream.headers["content-type"]
            for event in state_events(stream.iter_lines(), started + 30):
                seen.append(event)
                if event["state"] == "held":
                    confirmed = shop.confirm(PIA, order_id, new_card_confirmation())
                    assert confirmed.status_code == 202, confirmed.text
        ended_after = time.monotonic() - started
        injected = shop.stripe.faults()["injected_by_kind"].get("delay_ms", 0)
        final = shop.order(PIA, order_id)
    states = [event["state"] for event in seen]
    progression = [state for i, state in enumerate(states) if i == 0 or states[i - 1] != state]
    print(
        f"\n[events] states streamed {states}, stream ended after {ended_after:.1f} s; Stripe delays"
        f" injected {injected}; no token {unauthenticated.status_code}, another buyer {strangers.status_code}"
    )
    assert content_type.startswith("text/event-stream")
    assert progression == ["held", "confirming", "paid"] and injected == 1
    assert all(before != after for before, after in itertools.pairwise(seen))
    assert all(event["order_id"] == order_id for event in seen)
    assert seen[-1] == final and final["card"] == {"brand": "visa", "last4": "4242"}
    assert (unauthenticated.status_code, strangers.status_code) == (401, 404)
