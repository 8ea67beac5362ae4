"""``vault-admin``: master-key rotation for operators. Reads the same settings as the service.

vault-admin keys            data keys per master-key version, and which version is active
vault-admin rewrap          move every data key to the active version (progress shown;
                            interrupt and run again at any time: it resumes)
vault-admin retire VERSION  retire a version no data key uses any more (refused otherwise)
vault-admin import-keys --from-database NAME
                            copy the data keys of the key store kept in MongoDB before (the
                            database NAME, by default vault_service_keys) into the key store,
                            those a live profile is sealed under (once, when upgrading)
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from pymongo import MongoClient
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from buybutton.service import settings_problems
from vault_service.app import build_vault
from vault_service.config import Settings
from vault_service.keystore import WrappedKey
from vault_service.rotation import KeyStillInUse
from vault_service.vault import Vault

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
console = Console(width=None if sys.stdout.isatty() else 120)


@contextmanager
def _vault() -> Iterator[Vault]:
    try:
        settings = Settings()
    except ValidationError as error:  # as the service does: one line, naming each variable
        sys.exit(f"vault-admin refuses to start: {settings_problems(Settings, error)}")
    client: MongoClient[dict[str, object]] = MongoClient(settings.mongodb_url, tz_aware=True)
    with client:
        vault = build_vault(settings, client)
        with closing(vault.keys):
            yield vault


@app.command()
def keys() -> None:
    """Show how many data keys each master-key version wraps."""
    with _vault() as vault:
        usage = vault.rotation.key_usage()
        table = Table("master key version", "data keys", "state")
        for version in sorted(vault.keyring.versions | set(usage)):
            state = "active" if version == vault.keyring.active_version else "readable"
            if version not in vault.keyring.versions:
                state = "NOT CONFIGURED"
            table.add_row(str(version), str(usage.get(version, 0)), state)
        console.print(table)


@app.command()
def rewrap(batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 200) -> None:
    """Re-wrap every data key with the active master key."""
    with (
        _vault() as vault,
        Progress(
            TextColumn("rewrap"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
        ) as progress,
    ):
        task = progress.add_task("rewrap", total=None)
        moved = vault.rotation.rewrap(
            batch_size=batch_size,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
        usage = vault.rotation.key_usage()
    console.print(f"moved {moved} data key(s) to v{vault.keyring.active_version}; usage now {usage}")


@app.command()
def retire(version: int) -> None:
    """Retire a master-key version that no data key uses."""
    with _vault() as vault:
        try:
            vault.rotation.retire(version)
        except KeyStillInUse as refusal:
            console.print(f"[red]refused: {refusal}[/]")
            raise typer.Exit(1) from None
    console.print(f"v{version} retired; remove it from VAULT_MASTER_KEYS at the next deploy")


@app.command("import-keys")
def import_keys(from_database: Annotated[str, typer.Option()] = "vault_service_keys") -> None:
    """Copy the former MongoDB key store's data keys into the key store: each one a live profile is
    sealed under (never one an erasure named since), unless the key store has the buyer's key."""
    outcome: Counter[str] = Counter()
    with _vault() as vault:
        for document in vault.profiles.database.client[from_database]["data_keys"].find({}):
            key = WrappedKey(
                str(document["_id"]),
                str(document["key_id"]),
                int(document["master_version"]),
                bytes(document["wrapped"]),
            )
            profile = vault.profiles.find_one({"_id": key.buyer_id}, {"key_id": 1}) or {}
            if profile.get("key_id") != key.key_id:
                outcome["skipped (no live profile is sealed under it)"] += 1
            elif vault.keys.get(key.buyer_id) is None and vault.keys.put_if_absent(key) == key:
                outcome["copied"] += 1
            else:
                outcome["already in the key store"] += 1
    console.print(
        f"data keys {dict(outcome)}; now drop the database {from_database} and let its backups "
        "expire: erasure is final only once they are gone"
    )
