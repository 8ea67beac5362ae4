"""A consumer process for the kill-before-commit test. It handles BuyClicked records by
appending their event ids to a file; with --crash it SIGKILLs itself right after the side
effect, before the loop can commit. Without --crash it exits once it has handled one record.

    python crashing_consumer.py BOOTSTRAP PREFIX GROUP SEEN_FILE [--crash]
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from buybutton.events import BuyClicked
from buybutton.kafka.consumer import ConsumeLoop
from buybutton.kafka.producer import EventPublisher


async def main(bootstrap: str, prefix: str, group: str, seen_file: Path, crash: bool) -> None:
    publisher = await EventPublisher.start(bootstrap, client_id=group, topic_prefix=prefix)

    async def forward_order(event: BuyClicked) -> None:
        with seen_file.open("a") as seen:
            seen.write(event.event_id + "\n")
        if crash:
            os.kill(os.getpid(), signal.SIGKILL)

    loop = ConsumeLoop(
        bootstrap_servers=bootstrap,
        group_id=group,
        consumer_name="merchant-relay",
        routes={BuyClicked: forward_order},
        publisher=publisher,
        session_timeout_ms=6000,
    )
    await loop.start()
    try:
        while loop.stats.handled == 0:
            await loop.poll_once(timeout_ms=200)
    finally:
        await loop.stop()
        await publisher.stop()


if __name__ == "__main__":
    bootstrap, prefix, group, seen = sys.argv[1:5]
    asyncio.run(main(bootstrap, prefix, group, Path(seen), crash="--crash" in sys.argv))
