"""FerretDB 1.x with its SQLite handler: a MongoDB wire-protocol server for pymongo.

Install: built with the Go toolchain from the pinned module in resources/ferretdb (go.mod and
go.sum fix every dependency). The module is vendored so that the build can carry the version
file FerretDB embeds (its published module leaves that file out). Ready when ``ping`` answers.
"""

from __future__ import annotations

import re
import shutil
from importlib.resources import files
from pathlib import Path

from devstack.components.base import Component, content_key, require_tool, run_logged

RESOURCES = Path(str(files("devstack") / "resources" / "ferretdb"))
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"


def pinned_version() -> str:
    match = re.search(
        rf"^require {re.escape(FERRETDB_MODULE)} (v\S+)$", (RESOURCES / "go.mod").read_text(), re.MULTILINE
    )
    if match is None:
        raise RuntimeError(f"{RESOURCES / 'go.mod'} does not require {FERRETDB_MODULE}")
    return match.group(1)


class FerretDB(Component):
    name = "ferretdb"

    def cache_key(self) -> str:
        return content_key(RESOURCES / "go.mod", RESOURCES / "go.sum")

    def check_tools(self) -> None:
        require_tool("go", "FerretDB is built with Go 1.22+ (Debian: apt-get install golang-go)")

    @property
    def binary(self) -> Path:
        return self.install_dir / "ferretdb"

    def install(self) -> None:
        source = self.install_dir / "src"
        source.mkdir()
        for name in ("go.mod", "go.sum", "tools.go"):
            shutil.copy(RESOURCES / name, source / name)
        log = self.install_dir / "install.log"
        run_logged(["go", "mod", "vendor"], log_file=log, cwd=source, what="vendoring FerretDB")
        version_file = source / "vendor" / FERRETDB_MODULE / "build" / "version" / "version.txt"
        version_file.write_text(pinned_version() + "\n")
        run_logged(
            ["go", "build", "-mod=vendor", "-o", str(self.binary), f"{FERRETDB_MODULE}/cmd/ferretdb"],
            log_file=log,
            cwd=source,
            env={"CGO_ENABLED": "0"},
            what="building FerretDB",
        )
        shutil.rmtree(source)

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.mongo_port}"

    @property
    def url(self) -> str:
        return f"mongodb://{self.address}/"

    def command(self) -> list[str]:
        data = self.settings.data_dir / "ferretdb"
        data.mkdir(parents=True, exist_ok=True)
        return [
            str(self.binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{data}/?_txlock=immediate",
            f"--state-dir={data}",
            f"--listen-addr={self.address}",
            f"--debug-addr={self.settings.host}:{self.settings.ferretdb_debug_port}",
            "--telemetry=disable",
            "--log-level=warn",
            "--log-format=json",
        ]

    def probe(self) -> None:
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]]
        with MongoClient(self.url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000) as client:
            client.admin.command("ping")
