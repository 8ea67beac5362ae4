"""``devstack``: run the local stack of real components.

devstack up        install (cached) and start Kafka, SecantusDB, stripe-mock and the fake Stripe
                   server; wait for them
devstack up --services   the same, then the five platform services (ports 8001-8005)
devstack down      stop what the stack started, services included
devstack status    what runs, where, and whether it answers
devstack env       the endpoints as shell exports (eval "$(devstack env)")
devstack keys      the stack's keys and trust as shell exports, for docker compose
devstack token KIND SUBJECT --audience SERVICE   a token signed by the development identity
devstack run CMD   run CMD against the stack, starting it first and stopping afterwards
                   whatever this call started
devstack scan-cards   look for card numbers in every file of the stack's data and log folders
                   and every record of every topic on the broker; exit 1 on any hit
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, cast, get_args

import typer
from rich.console import Console
from rich.table import Table

from buybutton.auth import TokenKind
from devstack.card_scan import scan
from devstack.components import MissingTool
from devstack.components.base import InstallFailed
from devstack.config import StackSettings
from devstack.endpoints import KAFKA_ENV
from devstack.identity import compose_exports, issuer
from devstack.stack import Stack, StackError

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
console = Console(stderr=True, highlight=False)


def _stack(*, with_services: bool = False) -> Stack:
    return Stack(report=lambda line: console.print(f"[cyan]devstack[/] {line}"), with_services=with_services)


def _bring_up(stack: Stack) -> list[str]:
    try:
        return stack.up()
    except (MissingTool, InstallFailed, StackError) as problem:
        console.print(f"[red]devstack: {problem}[/]")
        raise typer.Exit(2) from None


@app.command()
def up(
    services: Annotated[
        bool, typer.Option("--services", help="also run the five platform services (provision topics first)")
    ] = False,
) -> None:
    """Install what is missing and start every component; return when all answer."""
    stack = _stack(with_services=services)
    started = _bring_up(stack)
    if not started:
        console.print("[cyan]devstack[/] already running")
    for name, value in stack.endpoints().as_env().items():
        console.print(f"  {name}={value}")


@app.command()
def down() -> None:
    """Stop the processes this stack started."""
    if not _stack().down():
        console.print("[cyan]devstack[/] nothing was running")


@app.command()
def status() -> None:
    """Show each component, its address, pid and whether it answers."""
    table = Table("component", "address", "pid", "answers")
    for row in _stack().status():
        table.add_row(row.name, row.address, str(row.pid or "-"), "yes" if row.answering else "no")
    Console().print(table)


@app.command()
def env() -> None:
    """Print the endpoints as shell exports."""
    for name, value in _stack().endpoints().as_env().items():
        print(f"export {name}={value}")


@app.command()
def keys() -> None:
    """Print the stack's keys and trust as shell exports, for docker compose: eval "$(devstack keys)"."""
    for name, value in compose_exports(StackSettings()).items():
        print(f"export {name}={shlex.quote(value)}")


@app.command()
def token(
    kind: Annotated[str, typer.Argument(help="buyer | merchant | service | admin")],
    subject: Annotated[str, typer.Argument(help="buyer id, merchant id or service name")],
    audience: Annotated[str, typer.Option(help="the service the token is for")],
    scope: Annotated[list[str] | None, typer.Option(help="a scope (repeatable)")] = None,
    country: Annotated[str | None, typer.Option(help="buyer's country, e.g. US")] = None,
    ttl_minutes: Annotated[int, typer.Option(min=1, max=24 * 60)] = 60,
) -> None:
    """Mint a token signed by the local stack's development identity key."""
    if kind not in get_args(TokenKind):
        console.print(f"[red]kind must be one of {', '.join(get_args(TokenKind))}[/]")
        raise typer.Exit(2)
    print(
        issuer(StackSettings()).mint(
            cast(TokenKind, kind),
            subject,
            audience=audience,
            scopes=scope or (),
            country=country,
            ttl=timedelta(minutes=ttl_minutes),
        )
    )


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(command: Annotated[list[str], typer.Argument(help="the command and its arguments")]) -> None:
    """Run a command with the stack's endpoints in its environment."""
    stack = _stack()
    started = _bring_up(stack)
    try:
        result = subprocess.run(command, env={**os.environ, **stack.endpoints().as_env()}, check=False)
    finally:
        if started:
            stack.down(started)
    sys.exit(result.returncode)


@app.command("scan-cards")
def scan_cards(
    state_dir: Annotated[
        Path | None, typer.Option(help="the stack's state folder (default: this checkout's .devstack)")
    ] = None,
    bootstrap_servers: Annotated[
        str | None, typer.Option(help=f"the broker (default: {KAFKA_ENV}, else the stack's)")
    ] = None,
    topics: Annotated[bool, typer.Option(help="read every topic too")] = True,
) -> None:
    """Count card numbers (buybutton.sensitive's rule) in the stack's files and topics."""
    settings = StackSettings(state_dir=state_dir) if state_dir else StackSettings()
    broker = bootstrap_servers or os.environ.get(KAFKA_ENV) or f"{settings.host}:{settings.kafka_port}"
    report = scan([settings.data_dir, settings.logs_dir], broker if topics else None)
    for folder in report.folders_missing:
        print(f"scan-cards: no folder {folder}: nothing read there")
    print(
        f"scan-cards: files read {report.files} ({report.file_bytes / 1e6:.1f} MB)"
        f" under {settings.state_dir}; "
        f"records read {report.records} (keys, values and {report.headers} headers) in {report.topics} "
        f"topics ({report.partitions} partitions) on {broker if topics else 'no broker'}"
    )
    for hit in report.hits[:50]:
        print(f"scan-cards: hit: {hit.where}: {hit.masked}")
    print(f"scan-cards: hits {len(report.hits)}")
    if report.hits:
        raise typer.Exit(1)
    if report.files == 0 and report.records == 0:
        print("scan-cards: nothing was read, so nothing is shown to be free of card numbers")
        raise typer.Exit(2)
