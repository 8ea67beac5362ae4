"""Where a timeline request's time goes, for bench/timeline.py: each step of GET /v1/timeline
timed in-process, one call at a time, with tweet-service's own code on the bench's database
(token check, the page read from MongoDB, cards with the gate's decisions, the response's JSON),
and the CPU that a process spent over a stretch of requests (read from /proc, so Linux only;
None elsewhere).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from buybutton.auth import TokenVerifier
from buybutton.events import RolloutChanged
from buybutton.rollout import GateRules
from tweet_service.cursors import next_cursor
from tweet_service.gate import shows_button
from tweet_service.timeline_reads import Page, TimelineReads
from tweet_service.views import buyer_tweet, timeline_json

STEPS = ("token check", "DB read", "cards+gate", "JSON")


def ms_per_call(step: Callable[[], object], count: int) -> float:
    step()  # warm
    began = time.perf_counter()
    for _ in range(count):
        step()
    return (time.perf_counter() - began) / count * 1000


def db_read_ms(mongo_url: str, database: str, limit: int, count: int) -> tuple[float, Page]:
    """The route's read (``TimelineReads``, pymongo's asyncio client), one call at a time."""

    async def reads() -> tuple[float, Page]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
        try:
            timeline = TimelineReads(client[database]["tweets"])
            page = await timeline.page_with_related(limit=limit)  # warm
            began = time.perf_counter()
            for _ in range(count):
                await timeline.page_with_related(limit=limit)
            return (time.perf_counter() - began) / count * 1000, page
        finally:
            await client.close()

    return asyncio.run(reads())


def steps_ms(
    *, mongo_url: str, database: str, verifier: TokenVerifier, token: str, rule: RolloutChanged, limit: int
) -> dict[str, float]:
    """Milliseconds per call of each step, as the route runs them for one buyer."""
    count = 300
    rules = GateRules.of(rule)
    buyer = verifier.verify(token)
    read_ms, (found, related) = db_read_ms(mongo_url, database, limit, count)

    def cards() -> list[dict[str, Any]]:
        return [
            buyer_tweet(t, related, buy_button=shows_button(rules, buyer, t["merchant_id"])) for t in found
        ]

    shown = cards()
    return {
        "token check": ms_per_call(lambda: verifier.verify(token), count),
        "DB read": read_ms,
        "cards+gate": ms_per_call(cards, count),
        "JSON": ms_per_call(lambda: timeline_json(shown, next_cursor(found, limit)), count),
    }


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return None
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def local_stack_pids() -> dict[str, int]:
    """The local stack's database server and broker, by pid, when the stack runs here (their
    CPU shows where a run's time went); empty for a stack elsewhere."""
    from devstack.config import StackSettings
    from devstack.processes import ManagedProcess

    run_dir = StackSettings().run_dir
    found = {
        role: ManagedProcess(name, run_dir / f"{name}.pid").running_pid()
        for role, name in (("database", "secantusdb"), ("broker", "kafka"))
    }
    return {role: pid for role, pid in found.items() if pid is not None}
