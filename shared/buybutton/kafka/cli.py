"""Operator commands over the registry and the dead letters.

    buybutton-topics provision [--prefix P] [--dry-run]   create/alter topics from the registry
    buybutton-topics list                                 the registry as a table
    buybutton-dlq replay TOPIC [--limit N]                send TOPIC.dlq records back to TOPIC

The broker comes from --bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from buybutton.kafka.dead_letters import dlq_topic
from buybutton.kafka.provision import ProvisionReport, provision, registry_specs
from buybutton.kafka.replay import replay_dead_letters
from buybutton.topics import ALL_TOPICS, DAY_MS, KEEP_FOREVER

console = Console(width=None if sys.stdout.isatty() else 200)
topics_app = typer.Typer(help="Topics declared in the registry.", no_args_is_help=True, add_completion=False)
dlq_app = typer.Typer(help="Dead-letter topics.", no_args_is_help=True, add_completion=False)

Bootstrap = Annotated[
    str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers, host:port[,host:port]")
]
Prefix = Annotated[str, typer.Option(envvar="KAFKA_TOPIC_PREFIX", help="topic name prefix")]


@topics_app.command("list")
def list_topics(prefix: Prefix = "") -> None:
    """Show every declared topic: owner, key, partitions, retention, compaction, DLQ."""
    table = Table("topic", "owner", "key", "partitions", "retention", "compacted", "dlq", "events")
    for t in ALL_TOPICS:
        table.add_row(
            t.named(prefix),
            t.owner,
            t.key,
            str(t.partitions),
            "forever" if t.retention_ms == KEEP_FOREVER else f"{t.retention_ms // DAY_MS} days",
            "yes" if t.compacted else "no",
            t.dlq_named(prefix) if t.has_dlq else "-",
            "\n".join(e.type_name() for e in t.events),
        )
    console.print(table)


@topics_app.command("provision")
def provision_topics(
    bootstrap_servers: Bootstrap,
    prefix: Prefix = "",
    replication_factor: Annotated[int, typer.Option(min=1)] = 1,
    dry_run: Annotated[bool, typer.Option(help="report what would change")] = False,
) -> None:
    """Create missing topics and align partitions and configs with the registry."""
    reports = asyncio.run(_provision(bootstrap_servers, prefix, replication_factor, dry_run))
    table = Table("topic", "outcome", "details", title="dry run" if dry_run else None)
    for report in reports:
        table.add_row(report.name, report.outcome, report.details)
    console.print(table)


async def _provision(
    bootstrap: str, prefix: str, replication_factor: int, dry_run: bool
) -> list[ProvisionReport]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="buybutton-topics")
    await admin.start()
    try:
        return await provision(
            admin, registry_specs(prefix), replication_factor=replication_factor, dry_run=dry_run
        )
    finally:
        await admin.close()


@dlq_app.command("replay")
def replay(
    topic: Annotated[str, typer.Argument(help="the topic whose dead letters to replay")],
    bootstrap_servers: Bootstrap,
    limit: Annotated[int | None, typer.Option(min=1, help="replay at most N records")] = None,
) -> None:
    """Send the records of TOPIC.dlq back to the topic they came from, once each."""
    with Progress(console=console) as progress:
        task = progress.add_task(f"replaying {dlq_topic(topic)}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result = asyncio.run(
                replay_dead_letters(bootstrap_servers, dlq_topic(topic), limit=limit, progress=advance)
            )
        except LookupError as missing:
            console.print(f"[red]{missing}[/]")
            raise typer.Exit(2) from None
    console.print(f"replayed {result.replayed} record(s): {result.targets or 'nothing to do'}")
