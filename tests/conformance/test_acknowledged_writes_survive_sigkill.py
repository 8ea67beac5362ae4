"""An acknowledged write survives SIGKILL of the server: what "stored in the outbox, then sent"
stands on. A private SecantusDB (the local stack's server, on a free port with a data folder of
this test's own, from the ``private_mongo`` fixture; the shared one is never touched)
acknowledges N inserts (w=1, the services' default), is killed with SIGKILL right after the
last acknowledgement, and is started again on the same data folder. Figures: acknowledged,
found after the restart, lost (must be 0).

The server killed is SecantusDB whatever endpoints the session uses: another server cannot be
killed from here, so its durability is its operator's to prove. Skipped, saying why, when
SecantusDB cannot be installed on this machine.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest
from figure_book import Figures
from pymongo import MongoClient

from devstack.private import PrivateSecantusDB

pytestmark = pytest.mark.stack

ACKNOWLEDGED = 500


def connect(server: PrivateSecantusDB) -> MongoClient[dict[str, Any]]:
    return MongoClient(server.url, serverSelectionTimeoutMS=10_000)


def amount_of(n: int) -> int:
    return 4999 + n


def test_every_acknowledged_insert_is_there_after_a_sigkill(
    private_mongo: PrivateSecantusDB, figures: Figures
) -> None:
    with connect(private_mongo) as client:
        orders = client["durability"]["orders"]
        acknowledged = [
            str(orders.insert_one({"_id": f"order-{n:04d}", "amount_cents": amount_of(n)}).inserted_id)
            for n in range(ACKNOWLEDGED)
        ]
        ended = private_mongo.kill()
    private_mongo.start()
    with connect(private_mongo) as client:
        found = {str(d["_id"]): d["amount_cents"] for d in client["durability"]["orders"].find()}
    lost = [order_id for order_id in acknowledged if order_id not in found]
    changed = [n for n in range(ACKNOWLEDGED) if found.get(f"order-{n:04d}", amount_of(n)) != amount_of(n)]
    figure = (
        f"private SecantusDB ended with {ended} (SIGKILL is -{signal.SIGKILL}) right after "
        f"{len(acknowledged)} acknowledged inserts: found after restart {len(found)}, "
        f"lost {len(lost)}, changed {len(changed)}"
    )
    figures(figure)
    assert ended == -signal.SIGKILL, figure
    assert not lost, f"{figure}; first lost: {lost[:5]}"
    assert not changed, figure
    assert len(found) == ACKNOWLEDGED, figure
