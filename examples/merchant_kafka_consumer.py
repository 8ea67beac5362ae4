"""A partner merchant's consumer of its own orders topic: what a merchant would copy.

Consumes ``merchant.<merchant_id>.orders.v1`` on the broker's merchant listener, authenticated
with the merchant's own SASL/SCRAM-SHA-512 credentials (``relay-admin onboard-kafka`` prints
them once), in a consumer group of its own (``merchant-<id>.`` + anything: the only groups its
ACLs allow). Produces one line of JSON per order message handled, and one per duplicate skipped.

Each record is ``{type, timestamp, data}`` (``data`` is the order: line items, amounts, fee,
payout, shipping address) keyed by order id, with headers ``webhook-id`` and ``type``. The rule
it keeps: each message is handled once. The relay may publish a message again (a retry after a
crash) and always with the same webhook-id, so a message whose webhook-id was seen is skipped
(records without one fall back to order id + type). Offsets are committed after handling, so a
crash re-reads rather than loses; the seen ids are kept in ``--seen-file`` so a restart skips
what was already handled. (A real shop keeps them in its own database, written in the same
transaction as the order.)

    MERCHANT_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19094 MERCHANT_KAFKA_USERNAME=merchant-puddle \\
    MERCHANT_KAFKA_PASSWORD=... MERCHANT_KAFKA_TOPIC=merchant.puddle.orders.v1 \\
    python examples/merchant_kafka_consumer.py --seen-file seen.txt

Only aiokafka is needed (pip install aiokafka).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer


def handle_order(message: dict[str, Any]) -> dict[str, Any]:
    """Where a shop would pick, pack and ship: here, a summary of what arrived."""
    order = message.get("data", {})
    address = order.get("shipping_address") or {}
    return {
        "type": message.get("type"),
        "order_id": order.get("order_id"),
        "amount": order.get("amount"),
        "payout": order.get("payout"),
        "ship_to_country": address.get("country"),
    }


def dedupe_key(headers: list[tuple[str, bytes]], message: dict[str, Any]) -> str:
    for name, value in headers:
        if name == "webhook-id":
            return value.decode()
    return f"{message.get('data', {}).get('order_id')}:{message.get('type')}"


class SeenIds:
    """Ids already handled, remembered in an append-only file (one id a line)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.ids = set(path.read_text().split()) if path and path.exists() else set()

    def __contains__(self, key: str) -> bool:
        return key in self.ids

    def add(self, key: str) -> None:
        self.ids.add(key)
        if self.path:
            with self.path.open("a") as file:
                file.write(key + "\n")


async def consume(args: argparse.Namespace) -> None:
    username = os.environ["MERCHANT_KAFKA_USERNAME"]
    consumer = AIOKafkaConsumer(
        os.environ["MERCHANT_KAFKA_TOPIC"],
        bootstrap_servers=os.environ["MERCHANT_KAFKA_BOOTSTRAP_SERVERS"],
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=username,
        sasl_plain_password=os.environ["MERCHANT_KAFKA_PASSWORD"],
        group_id=os.environ.get("MERCHANT_KAFKA_GROUP", f"{username}.orders"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    seen = SeenIds(args.seen_file)
    records = 0
    await consumer.start()
    try:
        async for record in consumer:
            message = json.loads(record.value or b"{}")
            key = dedupe_key(list(record.headers), message)
            if key in seen:
                print(json.dumps({"duplicate_skipped": key}), flush=True)
            else:
                print(json.dumps({"handled": key, **handle_order(message)}), flush=True)
                seen.add(key)
            await consumer.commit()
            records += 1
            if args.stop_after and records >= args.stop_after:
                return
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seen-file", type=Path, help="where handled ids are remembered")
    parser.add_argument("--stop-after", type=int, default=0, help="exit after this many records")
    try:
        asyncio.run(consume(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
