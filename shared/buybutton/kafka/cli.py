"""Operator commands over the registry and the dead letters.

    buybutton-topics provision [--prefix P] [--replication-factor N] [--allow-repartition] [--dry-run]
    buybutton-topics list                                  the registry as a table
    buybutton-dlq replay TOPIC --group G [--limit N]       TOPIC.G.dlq -> TOPIC.G.retry (G only)

The broker comes from --bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS; the replication factor
from --replication-factor or KAFKA_REPLICATION_FACTOR (1, the local stack's, by default).
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

from buybutton.kafka.provision import ProvisionReport, RepartitionRefused, provision, registry_specs
from buybutton.kafka.replay import replay_dead_letters
from buybutton.topics import ALL_TOPICS, DAY_MS, KEEP_FOREVER, topic_named

console = Console(width=None if sys.stdout.isatty() else 200)
topics_app = typer.Typer(help="Topics declared in the registry.", no_args_is_help=True, add_completion=False)
dlq_app = typer.Typer(help="Dead-letter topics.", no_args_is_help=True, add_completion=False)

Bootstrap = Annotated[
    str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers, host:port[,host:port]")
]
Prefix = Annotated[str, typer.Option(envvar="KAFKA_TOPIC_PREFIX", help="topic name prefix")]


@topics_app.command("list")
def list_topics(prefix: Prefix = "") -> None:
    """Show every declared topic: owner, key, partitions, retention, compaction, its consumer
    groups (each has <topic>.<group>.dlq and <topic>.<group>.retry)."""
    table = Table(
        "topic", "owner", "key", "partitions", "retention", "compacted", "consumer groups", "events"
    )
    for t in ALL_TOPICS:
        table.add_row(
            t.named(prefix),
            t.owner,
            t.key,
            str(t.partitions),
            "forever" if t.retention_ms == KEEP_FOREVER else f"{t.retention_ms // DAY_MS} days",
            "yes" if t.compacted else "no",
            "\n".join(t.consumed_by) or "-",
            "\n".join(e.type_name() for e in t.events),
        )
    console.print(table)


@topics_app.command("provision")
def provision_topics(
    bootstrap_servers: Bootstrap,
    prefix: Prefix = "",
    replication_factor: Annotated[
        int, typer.Option(min=1, envvar="KAFKA_REPLICATION_FACTOR", help="for topics it creates")
    ] = 1,
    allow_repartition: Annotated[
        bool, typer.Option(help="a planned migration: add partitions to keyed topics (remaps keys)")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="report what would change")] = False,
) -> None:
    """Create missing topics and align partitions and configs with the registry."""
    try:
        reports = asyncio.run(
            _provision(bootstrap_servers, prefix, replication_factor, allow_repartition, dry_run)
        )
    except RepartitionRefused as refused:
        console.print(f"[red]{refused}[/]")
        raise typer.Exit(2) from None
    table = Table("topic", "outcome", "details", title="dry run" if dry_run else None)
    for report in reports:
        table.add_row(report.name, report.outcome, report.details)
    console.print(table)


async def _provision(
    bootstrap: str, prefix: str, replication_factor: int, allow_repartition: bool, dry_run: bool
) -> list[ProvisionReport]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="buybutton-topics")
    await admin.start()
    try:
        specs = registry_specs(prefix, replication_factor=replication_factor)
        return await provision(admin, specs, dry_run=dry_run, allow_repartition=allow_repartition)
    finally:
        await admin.close()


@dlq_app.callback()
def dead_letters() -> None:
    """Dead-letter topics, one per topic and consumer group (a callback, so that ``replay`` stays
    a subcommand even while it is the only one)."""


@dlq_app.command("replay")
def replay(
    topic: Annotated[str, typer.Argument(help="the registry topic whose dead letters to replay")],
    bootstrap_servers: Bootstrap,
    group: Annotated[str, typer.Option(help="the consumer group that dead-lettered them")],
    prefix: Prefix = "",
    limit: Annotated[int | None, typer.Option(min=1, help="replay at most N records")] = None,
) -> None:
    """Move the records of TOPIC.GROUP.dlq to TOPIC.GROUP.retry, which only GROUP reads, once each."""
    try:
        declared = topic_named(topic)
    except LookupError as unknown:
        console.print(f"[red]{unknown}[/]")
        raise typer.Exit(2) from None
    if group not in declared.consumed_by:
        console.print(
            f"[red]{group} does not consume {topic}; its groups: {', '.join(declared.consumed_by)}[/]"
        )
        raise typer.Exit(2)
    dlq = declared.dlq_named(prefix, group)
    with Progress(console=console) as progress:
        task = progress.add_task(f"replaying {dlq}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result = asyncio.run(replay_dead_letters(bootstrap_servers, dlq, limit=limit, progress=advance))
        except LookupError as missing:
            console.print(f"[red]{missing}[/]")
            raise typer.Exit(2) from None
    console.print(f"replayed {result.replayed} record(s): {result.targets or 'nothing to do'}")
