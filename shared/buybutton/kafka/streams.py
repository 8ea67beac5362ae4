"""The one way the platform builds a faust-streaming app (rollout-service's rules table,
merchant-relay's statistics table): an app id that is also its consumer group, the producer
idempotent with acks=all (faust turns idempotence on only inside transactions), offsets
committed after every record once its changelog writes are flushed, a member that stops
heartbeating out of the group after 10 s (faust's default is 60), no web server, no topic
declared (the topic registry provisions every topic, changelogs included), tables in memory
(the changelog topic is the state) and a scratch data directory, removed by ``stop_stream_app``.

Needs faust-streaming (shared's ``streams`` extra); only the services that run a table import it.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Producer
from faust.types import ProducerT

SESSION_TIMEOUT_S = 10.0  # as the consume loops': a killed instance's partitions move on within it


class IdempotentProducer(Producer):
    def _settings_extra(self) -> dict[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class StreamApp(faust.App):
    def _new_producer(self) -> ProducerT:
        return IdempotentProducer(self.transport, loop=self.loop, beacon=self.beacon)


def stream_app(app_id: str, *, bootstrap_servers: str, client_id: str) -> StreamApp:
    """A faust app as described above (built when a service starts, never at import)."""
    datadir = tempfile.mkdtemp(
        prefix=f"{client_id}-faust-"
    )  # faust wants one; the memory store keeps it empty
    return StreamApp(
        app_id,
        broker=[f"kafka://{server}" for server in bootstrap_servers.split(",")],
        broker_client_id=client_id,
        store="memory://",
        datadir=datadir,
        web_enabled=False,
        autodiscover=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        producer_acks=-1,
        broker_commit_every=1,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=SESSION_TIMEOUT_S,
        broker_heartbeat_interval=SESSION_TIMEOUT_S / 3,
    )


async def start_stream_app(app: faust.App, timeout_s: float) -> None:
    """Start, its tables recovered from their changelogs; TimeoutError after ``timeout_s``."""
    await asyncio.wait_for(app.start(), timeout_s)


async def stop_stream_app(app: faust.App) -> None:
    try:
        await app.stop()
    finally:
        shutil.rmtree(str(app.conf.datadir), ignore_errors=True)
