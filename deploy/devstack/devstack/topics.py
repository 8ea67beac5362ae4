"""The registry's topics under a prefix of one's own, for code that runs outside pytest's event
loop (benchmarks, module-scoped fixtures): provisioned on entry, deleted on exit. Tests inside
the loop use the ``registry_topics`` fixture instead."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from aiokafka.admin import AIOKafkaAdminClient

from buybutton.kafka.provision import provision, registry_specs


async def _provision(bootstrap: str, prefix: str, *, delete: bool = False) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="devstack-topics")
    await admin.start()
    try:
        specs = registry_specs(prefix)
        if delete:
            await admin.delete_topics([spec.name for spec in specs])
        else:
            await provision(admin, specs)
    finally:
        await admin.close()


@contextmanager
def registry_topics_under(bootstrap: str, prefix: str) -> Iterator[str]:
    asyncio.run(_provision(bootstrap, prefix))
    try:
        yield prefix
    finally:
        asyncio.run(_provision(bootstrap, prefix, delete=True))
