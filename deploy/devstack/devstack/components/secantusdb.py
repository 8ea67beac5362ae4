"""SecantusDB: a MongoDB wire-protocol server on WiredTiger, the local stack's database.

Why this server: it keeps what the services rely on MongoDB for, and the conformance suite
(tests/conformance) proves it on every run: single-document atomicity of updates (``$inc``,
conditional updates, compare-and-set on a version), unique indexes under races, acknowledged
writes that survive SIGKILL of the server (``--sync-on-commit``), and ``_id`` updates that do
not slow down as a collection grows. FerretDB 1.x, used before, lost most concurrent updates.

Install: a virtual environment of its own in the cache, with the hash-pinned packages of
resources/secantusdb/requirements.txt (it is a separate server process, never imported by the
project). Start: ``secantusd-py`` on the stack's data folder. Ready when ``ping`` answers.

The URL turns pymongo's retryable writes off: their bookkeeping on this server slows writes
from ~1 700/s to ~230/s after 10 000 writes, and every write the services make is idempotent
by design (conditional on a version, or an upsert of a fixed id).
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

from devstack.components.base import Component, content_key, run_logged

RESOURCES = Path(str(files("devstack") / "resources" / "secantusdb"))


class SecantusDB(Component):
    name = "secantusdb"

    def cache_key(self) -> str:
        return content_key(RESOURCES / "requirements.txt", extra=f"{sys.version_info[:2]}")

    def check_tools(self) -> None:
        """Only Python is needed, and devstack runs on it."""

    @property
    def venv(self) -> Path:
        return self.install_dir / "venv"

    def install(self) -> None:
        log = self.install_dir / "install.log"
        run_logged(
            [sys.executable, "-m", "venv", str(self.venv)],
            log_file=log,
            cwd=self.install_dir,
            what="creating SecantusDB's virtual environment",
        )
        run_logged(
            [
                str(self.venv / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--require-hashes",
                "-r",
                str(RESOURCES / "requirements.txt"),
            ],
            log_file=log,
            cwd=self.install_dir,
            what="installing SecantusDB",
        )

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.mongo_port}"

    @property
    def url(self) -> str:
        return f"mongodb://{self.address}/?retryWrites=false"

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir / self.name

    def command(self) -> list[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return [
            str(self.venv / "bin" / "secantusd-py"),
            f"--host={self.settings.host}",
            f"--port={self.settings.mongo_port}",
            f"--storage-path={self.data_dir}",
            "--sync-on-commit",
            "--log-level=WARNING",
        ]

    def probe(self) -> None:
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]]
        with MongoClient(self.url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000) as client:
            client.admin.command("ping")
