"""What the relay guarantee tests read and do around merchant-relay processes: a receiver's
answers held back until the test lets them go (``HeldAnswers``) or failing as told
(``FailingAnswers``: errors, and answers too late for the relay that the merchant kept), an
instance's deliveries in flight (its stats endpoint), the relay's deliveries and orders in its
database, the OrderForwarded events and the merchant topic's webhook-ids per order,
``relay-admin`` run as a command, and what the receiver got (``ReceiverTally``: posts, distinct
ids, repeats under the same id, orders lost, orders seen under more than one id)."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from relay_support import Answer, Receiver
from shop_support import RELAY, Shop, ShopSetup

from buybutton.auth import TokenIssuer
from buybutton.events import OrderForwarded
from buybutton.kafka.codec import decode
from buybutton.topics import MERCHANT_ORDERS
from buybutton.topics import RELAY as RELAY_TOPIC
from devstack.service_process import RunningService
from devstack.testing import read_all
from merchant_relay.deliveries import webhook_id


@dataclass
class HeldAnswers:
    """200 to every post, but only once ``release`` is set or ``hold_s`` has passed (``held``:
    the posts that came before the release)."""

    hold_s: float
    release: threading.Event = field(default_factory=threading.Event)
    holding: int = 0
    held: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, _: str) -> Answer:
        with self.lock:
            self.holding += 1
            self.held += not self.release.is_set()
        self.release.wait(self.hold_s)
        with self.lock:
            self.holding -= 1
        return 200, {}


@dataclass
class FailingAnswers:
    """``mode`` flaky: half of the posts fail, as a 500 or as a 200 that comes only after
    ``late_s`` (past the relay's attempt timeout: the merchant has the order, the relay does
    not know); down: 503 to every post; up: 200. ``injected`` counts the failures by kind."""

    late_s: float
    mode: str = "flaky"
    injected: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, _: str) -> Answer:
        with self.lock:
            mode = self.mode
        if mode == "up" or (mode == "flaky" and random.random() < 0.5):
            return 200, {}
        failure = "503" if mode == "down" else random.choice(("500", "late 200"))
        with self.lock:
            self.injected[failure] += 1
        if failure == "late 200":
            time.sleep(self.late_s)
            return 200, {}
        return int(failure), {}

    def refused(self) -> int:
        """Posts answered with an error (not counting the late 200s)."""
        with self.lock:
            return sum(n for kind, n in self.injected.items() if kind != "late 200")


def in_flight(relay: RunningService, identity: TokenIssuer) -> int:
    """Attempts the instance has begun and not concluded, from its own worker counts."""
    token = identity.mint("admin", "admin-grace", audience=RELAY, scopes=["deliveries:read"])
    answer = httpx.get(f"{relay.url}/v1/deliveries/stats", headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    worker: dict[str, int] = answer.json()["worker"]
    concluded = sum(worker[k] for k in ("delivered", "retried", "dead", "gone", "errors"))
    return worker["attempts"] - concluded


def relay_database(setup: ShopSetup, mongo_client: Any) -> Any:
    return mongo_client[setup.config.relay["RELAY_MONGODB_DATABASE"]]


def delivery_states(db: Any) -> Counter[str]:
    return Counter(str(d["state"]) for d in db.deliveries.find({}, {"state": 1}))


def all_forwarded(db: Any, count: int) -> bool:
    """Every order forwarded and its OrderForwarded out of the outbox."""
    forwarded = db.relay_orders.count_documents({"state": "forwarded"})
    return bool(forwarded == count and db.relay_orders.count_documents({"outbox_pending": True}) == 0)


def forwarded_event_ids(setup: ShopSetup) -> dict[str, set[str]]:
    """{order_id: ids of the OrderForwarded events read for it} on relay.deliveries.v1."""
    records = asyncio.run(read_all(setup.bootstrap, RELAY_TOPIC.named(setup.prefix)))
    found: dict[str, set[str]] = {}
    for event in (decode(r.value, r.headers) for r in records):
        if isinstance(event, OrderForwarded):
            found.setdefault(event.order_id, set()).add(event.event_id)
    return found


def topic_webhook_ids(setup: ShopSetup, merchant_id: str) -> dict[str, set[str]]:
    """{order_id: webhook-id headers of its records} on the merchant's own topic."""
    name = MERCHANT_ORDERS.for_merchant(merchant_id, setup.prefix)
    found: dict[str, set[str]] = {}
    for record in asyncio.run(read_all(setup.bootstrap, name)):
        headers = {k: v.decode() for k, v in record.headers or []}
        found.setdefault(record.key.decode(), set()).add(headers["webhook-id"])
    return found


def relay_admin(setup: ShopSetup, *args: str) -> subprocess.CompletedProcess[str]:
    """``relay-admin ARGS`` as an operator runs it, on this shop's relay database."""
    env = {
        **os.environ,
        "MONGODB_URL": setup.config.common["MONGODB_URL"],
        "RELAY_MONGODB_DATABASE": setup.config.relay["RELAY_MONGODB_DATABASE"],
    }
    command = [str(Path(sys.executable).with_name("relay-admin")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


@dataclass(frozen=True)
class ReceiverTally:
    posts: int
    distinct_ids: int
    same_id_repeats: int
    lost: list[str]
    renamed: list[str]
    unexpected_ids: int

    @property
    def summary(self) -> str:
        return (
            f"posts {self.posts}, distinct webhook-ids {self.distinct_ids}, repeats under the same id "
            f"{self.same_id_repeats}, lost {len(self.lost)}, forwarded under a new id {len(self.renamed)}, "
            f"unexpected ids {self.unexpected_ids}"
        )


def tally(receiver: Receiver, orders: list[str], *, failed_posts: int = 0) -> ReceiverTally:
    """What the receiver got against the orders paid: a repeat is a post of an id it had
    already accepted (``failed_posts``: posts it was told to refuse, not repeats)."""
    expected = {order_id: webhook_id(order_id, "order.paid") for order_id in orders}
    ids = receiver.ids_per_order()
    accepted = set(receiver.accepted)
    return ReceiverTally(
        posts=len(receiver.posts),
        distinct_ids=len({post.webhook_id for post in receiver.posts}),
        same_id_repeats=len(receiver.posts) - failed_posts - len(accepted),
        lost=sorted(o for o, i in expected.items() if i not in accepted),
        renamed=sorted(o for o in orders if ids.get(o, set()) - {expected[o]}),
        unexpected_ids=len(accepted - set(expected.values())),
    )


def stats_truth(db: Any, merchant_id: str) -> dict[str, Any]:
    """What the merchant's statistics must say, counted from the relay's own database: orders
    that reached the merchant (with their amounts and payouts) and deliveries per state."""
    states = Counter(str(d["state"]) for d in db.deliveries.find({"merchant_id": merchant_id}, {"state": 1}))
    failing = db.deliveries.count_documents(
        {"merchant_id": merchant_id, "state": "pending", "attempts": {"$gte": 1}}
    )
    reached = list(db.relay_orders.find({"merchant_id": merchant_id, "channels.0": {"$exists": True}}))
    gmv: Counter[str] = Counter()
    payouts: Counter[str] = Counter()
    for order in reached:
        gmv[order["order"]["amount"]["currency"]] += order["order"]["amount"]["amount_minor"]
        payouts[order["order"]["payout"]["currency"]] += order["order"]["payout"]["amount_minor"]
    return {
        "forwarded": len(reached),
        "delivered": states["delivered"],
        "failing": failing,
        "dead": states["dead"],
        "gone": states["gone"],
        "gmv": dict(gmv),
        "payouts": dict(payouts),
    }


def merchant_stats(relay: RunningService, headers: dict[str, str], merchant_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{relay.url}/v1/merchants/{merchant_id}/stats", headers=headers)
    answer.raise_for_status()
    shown: dict[str, Any] = answer.json()
    return {
        key: shown[key] for key in ("forwarded", "delivered", "failing", "dead", "gone", "gmv", "payouts")
    }


def stats_when_settled(
    shop: Shop, db: Any, merchant_id: str, timeout_s: float = 60
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The statistics every running relay serves and the database's count, once they agree (or
    what each says at the deadline): (shown by the last relay, truth)."""
    headers = shop.merchant_of_relay(merchant_id)
    deadline = time.monotonic() + timeout_s
    while True:
        truth = stats_truth(db, merchant_id)
        shown = [merchant_stats(relay, headers, merchant_id) for relay in shop.relays]
        if all(s == truth for s in shown) or time.monotonic() > deadline:
            return shown[-1], truth
        time.sleep(0.25)
