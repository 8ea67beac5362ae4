"""A consumer process for the kill-before-commit tests. It handles BuyClicked records by
appending their event ids to a file; with --crash it SIGKILLs itself right after the side
effect, before the loop can commit. Without --crash it exits once it has handled one record.

With --lanes N it runs the loop with N lanes (orders whose number ends in 1, 2 or 3 take 20, 40
or 60 ms a record, so lanes overtake each other): with --crash-after M it SIGKILLs itself after
its M-th side effect, with records of other lanes in flight; with --until M it stops (committing
its watermarks) once the file holds M distinct event ids.

    python crashing_consumer.py BOOTSTRAP PREFIX GROUP SEEN_FILE [--crash]
    python crashing_consumer.py BOOTSTRAP PREFIX GROUP SEEN_FILE --lanes N (--crash-after M | --until M)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

from buybutton.events import BuyClicked
from buybutton.kafka.consumer import ConsumeLoop
from buybutton.kafka.producer import EventPublisher


async def main(options: argparse.Namespace, already_seen: set[str]) -> None:
    seen_file: Path = options.seen_file
    publisher = await EventPublisher.start(
        options.bootstrap, client_id=options.group, topic_prefix=options.prefix
    )
    handled = 0
    enough = asyncio.Event()

    async def forward_order(event: BuyClicked) -> None:
        nonlocal handled
        with seen_file.open("a") as seen:
            seen.write(event.event_id + "\n")
        handled += 1
        already_seen.add(event.event_id)
        if options.crash or handled == options.crash_after:
            os.kill(os.getpid(), signal.SIGKILL)
        if options.until and len(already_seen) >= options.until:
            enough.set()
        await asyncio.sleep(0.02 * (int(event.order_id[-1]) % 4))

    loop = ConsumeLoop(
        bootstrap_servers=options.bootstrap,
        group_id=options.group,
        consumer_name="merchant-relay",
        routes={BuyClicked: forward_order},
        publisher=publisher,
        session_timeout_ms=6000,
        lanes=options.lanes,
    )
    await loop.start()
    try:
        if options.lanes > 1:
            await loop.run(enough)
        while options.lanes == 1 and loop.stats.handled == 0:
            await loop.poll_once(timeout_ms=200)
    finally:
        await loop.stop()
        await publisher.stop()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    for name in ("bootstrap", "prefix", "group"):
        parser.add_argument(name)
    parser.add_argument("seen_file", type=Path)
    parser.add_argument("--crash", action="store_true")
    parser.add_argument("--lanes", type=int, default=1)
    parser.add_argument("--crash-after", type=int, default=0)
    parser.add_argument("--until", type=int, default=0)
    return parser.parse_args()


if __name__ == "__main__":
    options = parse()
    seen = set(options.seen_file.read_text().split()) if options.seen_file.exists() else set()
    asyncio.run(main(options, seen))
