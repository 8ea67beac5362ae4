"""Operator commands over the relay's deliveries.

    relay-admin resend [--merchant M] [--order O]   dead deliveries back to pending, due now
    relay-admin stats [--merchant M]                deliveries per state

The database comes from --mongodb-url or MONGODB_URL and --database or RELAY_MONGODB_DATABASE
(merchant_relay by default). A re-sent delivery keeps its webhook-id (a receiver that got it
already drops the repeat) and gets a new horizon from its next attempt; the running relays'
delivery workers pick it up. Prints how many were found, the progress, and how many it moved.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from pymongo import MongoClient
from pymongo.collection import Collection
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from merchant_relay.broker_admin import onboard_kafka
from merchant_relay.deliveries import COLLECTION, STATES, Deliveries, resend_filter, resend_one

app = typer.Typer(help="merchant-relay's deliveries.", no_args_is_help=True, add_completion=False)
console = Console()
MongoUrl = Annotated[str, typer.Option(envvar="MONGODB_URL", help="MongoDB connection string")]
Database = Annotated[str, typer.Option(envvar="RELAY_MONGODB_DATABASE", help="the relay's database")]
Merchant = Annotated[str | None, typer.Option("--merchant", help="only this merchant's deliveries")]
Order = Annotated[str | None, typer.Option("--order", help="only this order's deliveries")]


def _deliveries(mongodb_url: str, database: str) -> Collection[dict[str, Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(
        mongodb_url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    return client[database or "merchant_relay"][COLLECTION]


@app.command()
def resend(
    mongodb_url: MongoUrl,
    database: Database = "merchant_relay",
    merchant: Merchant = None,
    order: Order = None,
) -> None:
    """Put dead deliveries back to pending (all, one merchant's, or one order's)."""
    collection = _deliveries(mongodb_url, database)
    ids = [d["_id"] for d in collection.find(resend_filter(merchant, order), {"_id": 1})]
    console.print(f"dead deliveries found: {len(ids)}")
    moved = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("re-sending", total=len(ids))
        for delivery_id in ids:
            moved += resend_one(collection, delivery_id, now=datetime.now(UTC))
            progress.advance(task)
    console.print(f"re-sent: {moved}; no longer dead meanwhile: {len(ids) - moved}")


@app.command()
def stats(mongodb_url: MongoUrl, database: Database = "merchant_relay", merchant: Merchant = None) -> None:
    """Deliveries per state."""
    counts = Deliveries(_deliveries(mongodb_url, database), owner="relay-admin").counts(merchant)
    table = Table("state", "deliveries")
    for state in STATES:
        table.add_row(state, str(counts[state]))
    console.print(table)


app.command("onboard-kafka")(onboard_kafka)


def main() -> None:
    app()
