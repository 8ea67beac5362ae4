"""The key store: each buyer's data key, wrapped by a master key, and nothing else.

``KeyStore`` is the interface a KMS-backed store would implement (one key per buyer at a time;
a destroyed key must be gone for good, wherever the store keeps its bytes). ``SqliteKeyStore``
is the local one, in one SQLite file (``VAULT_KEYSTORE_PATH``):

- ``PRAGMA secure_delete=ON``: SQLite overwrites deleted content with zeros, in the row's page
  and in pages it frees, so a destroyed key (or the old wrapping a rewrap replaced) leaves no
  bytes in the database file;
- ``journal_mode=TRUNCATE`` (a rollback journal, never WAL): the journal holds the pages a
  transaction changes only until it commits, then is cut to zero length, so no copy of a
  destroyed key survives there either; ``temp_store=MEMORY`` keeps temporary tables off disk;
- ``synchronous=FULL``: a key is on disk before ``put_if_absent`` answers.

Several vault processes on one machine may share the file: SQLite's file locks serialise
writers, and ``put_if_absent`` decides in one write transaction, so concurrent first saves all
get the same key. Across machines a file cannot be shared (network file systems' locks are not
to be trusted): there a KMS, or a database that can destroy a record for good, implements the
same interface. "For good" holds at the level of files: the blocks a file system freed can keep
old bytes until they are reused, which is why the key store belongs on an encrypted volume.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

BUSY_TIMEOUT_S = 30.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS data_keys (
    buyer_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    master_version INTEGER NOT NULL,
    wrapped BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS data_keys_by_version ON data_keys (master_version, buyer_id);
"""


class KeyStoreUnsafe(RuntimeError):
    """The store cannot promise that destroyed keys leave no trace (a pragma did not take)."""


@dataclass(frozen=True)
class WrappedKey:
    buyer_id: str
    key_id: str
    master_version: int
    wrapped: bytes


class KeyStore(Protocol):
    def put_if_absent(self, key: WrappedKey) -> WrappedKey:
        """Store ``key`` unless its buyer has one; answer the buyer's key (this one, or the one
        that was there)."""

    def get(self, buyer_id: str) -> WrappedKey | None: ...

    def delete(self, buyer_id: str, key_id: str) -> bool:
        """Destroy the buyer's key if it is still ``key_id``; True if it was."""

    def usage(self) -> dict[int, int]:
        """How many keys each master-key version wraps."""

    def wrapped_with_other_than(self, version: int, *, after: str, limit: int) -> list[WrappedKey]:
        """Up to ``limit`` keys not wrapped with ``version``, by buyer id after ``after``."""

    def replace_wrapping(self, key: WrappedKey, *, master_version: int, wrapped: bytes) -> bool:
        """Re-wrap ``key`` if it is still as read (same key id and version); True if it was."""

    def close(self) -> None: ...


class SqliteKeyStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # one connection per store, used by one thread at a time: every statement is short
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        self._require("PRAGMA secure_delete=ON", 1)
        self._require("PRAGMA journal_mode=TRUNCATE", "truncate")
        self._require("PRAGMA temp_store=MEMORY", None)
        self._require("PRAGMA synchronous=FULL", None)
        with self._transaction() as db:
            for statement in filter(str.strip, SCHEMA.split(";")):
                db.execute(statement)

    def _require(self, pragma: str, answer: object) -> None:
        row = self._db.execute(pragma).fetchone()
        if answer is not None and (row is None or row[0] != answer):
            self._db.close()
            raise KeyStoreUnsafe(f"{pragma} answered {row}: destroyed keys could survive in {self.path}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, its lock taken at the start, so what it reads stays true."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _select(self, sql: str, *parameters: object) -> list[WrappedKey]:
        with self._lock:
            rows = self._db.execute(sql, parameters).fetchall()
        return [WrappedKey(row[0], row[1], int(row[2]), bytes(row[3])) for row in rows]

    def put_if_absent(self, key: WrappedKey) -> WrappedKey:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO data_keys VALUES (?, ?, ?, ?) ON CONFLICT (buyer_id) DO NOTHING",
                (key.buyer_id, key.key_id, key.master_version, key.wrapped),
            )
            row = db.execute(
                "SELECT buyer_id, key_id, master_version, wrapped FROM data_keys WHERE buyer_id = ?",
                (key.buyer_id,),
            ).fetchone()
        return WrappedKey(row[0], row[1], int(row[2]), bytes(row[3]))

    def get(self, buyer_id: str) -> WrappedKey | None:
        found = self._select("SELECT * FROM data_keys WHERE buyer_id = ?", buyer_id)
        return found[0] if found else None

    def delete(self, buyer_id: str, key_id: str) -> bool:
        with self._transaction() as db:
            deleted = db.execute(
                "DELETE FROM data_keys WHERE buyer_id = ? AND key_id = ?", (buyer_id, key_id)
            )
        return deleted.rowcount == 1

    def usage(self) -> dict[int, int]:
        with self._lock:
            rows = self._db.execute("SELECT master_version, count(*) FROM data_keys GROUP BY 1").fetchall()
        return {int(version): int(count) for version, count in rows}

    def wrapped_with_other_than(self, version: int, *, after: str, limit: int) -> list[WrappedKey]:
        return self._select(
            "SELECT * FROM data_keys WHERE master_version != ? AND buyer_id > ? ORDER BY buyer_id LIMIT ?",
            version,
            after,
            limit,
        )

    def replace_wrapping(self, key: WrappedKey, *, master_version: int, wrapped: bytes) -> bool:
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE data_keys SET master_version = ?, wrapped = ?"
                " WHERE buyer_id = ? AND key_id = ? AND master_version = ?",
                (master_version, wrapped, key.buyer_id, key.key_id, key.master_version),
            )
        return changed.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
