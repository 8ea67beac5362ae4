"""An acknowledged write survives SIGKILL of the server: what "stored in the outbox, then sent"
stands on. A private SecantusDB (the local stack's server, on a free port with a data folder of
this test's own; the shared one is never touched) acknowledges N inserts (w=1, the services'
default), is killed with SIGKILL right after the last acknowledgement, and is started again on
the same data folder. Figures: acknowledged, found after the restart, lost (must be 0).

The server killed is SecantusDB whatever endpoints the session uses: another server cannot be
killed from here, so its durability is its operator's to prove. Skipped, saying why, when
SecantusDB cannot be installed on this machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conformance_server import Figures
from pymongo import MongoClient

from devstack.components import MissingTool, SecantusDB
from devstack.components.base import InstallFailed
from devstack.config import StackSettings
from devstack.service_process import free_port

pytestmark = pytest.mark.stack

ACKNOWLEDGED = 500
START_TIMEOUT_S = 60.0


@pytest.fixture
def private_secantusdb(tmp_path: Path) -> SecantusDB:
    server = SecantusDB(StackSettings(mongo_port=free_port(), state_dir=tmp_path))
    try:
        server.ensure_installed()
    except (MissingTool, InstallFailed) as error:
        pytest.skip(f"a private SecantusDB cannot be installed here, so nothing can be killed: {error}")
    return server


def _answers(server: SecantusDB) -> bool:
    try:
        server.probe()
    except Exception:
        return False
    return True


@contextmanager
def started(server: SecantusDB) -> Iterator[subprocess.Popen[bytes]]:
    """The server running on its data folder until it is killed (or the block ends)."""
    log_file = server.settings.log_file(server.name)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            server.command(),
            cwd=server.settings.state_dir,
            env=server.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(server):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"SecantusDB did not start (exit {process.poll()}); see {log_file}")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            kill(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server's whole process group (its own session, started by this test)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def connect(server: SecantusDB) -> MongoClient[dict[str, Any]]:
    return MongoClient(server.url, serverSelectionTimeoutMS=10_000)


def amount_of(n: int) -> int:
    return 4999 + n


def test_every_acknowledged_insert_is_there_after_a_sigkill(
    private_secantusdb: SecantusDB, figures: Figures
) -> None:
    with started(private_secantusdb) as process, connect(private_secantusdb) as client:
        orders = client["durability"]["orders"]
        acknowledged = [
            str(orders.insert_one({"_id": f"order-{n:04d}", "amount_cents": amount_of(n)}).inserted_id)
            for n in range(ACKNOWLEDGED)
        ]
        kill(process)
    with started(private_secantusdb), connect(private_secantusdb) as client:
        found = {str(d["_id"]): d["amount_cents"] for d in client["durability"]["orders"].find()}
    lost = [order_id for order_id in acknowledged if order_id not in found]
    changed = [n for n in range(ACKNOWLEDGED) if found.get(f"order-{n:04d}", amount_of(n)) != amount_of(n)]
    figure = (
        f"private SecantusDB killed by signal {-process.returncode} right after {len(acknowledged)} "
        f"acknowledged inserts: found after restart {len(found)}, lost {len(lost)}, changed {len(changed)}"
    )
    figures(figure)
    assert process.returncode == -signal.SIGKILL, figure
    assert not lost, f"{figure}; first lost: {lost[:5]}"
    assert not changed, figure
    assert len(found) == ACKNOWLEDGED, figure
