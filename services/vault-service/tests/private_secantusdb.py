"""A SecantusDB of one test's own: the local stack's server, started with the stack's own command
line on a free port and a data folder under the test's tmp_path, so that a scan of its files
covers that test's writes alone (the shared server is never touched). Stopped with SIGTERM, so
WiredTiger closes cleanly and what it leaves on disk is what an operator would find. Skipped,
saying why, when SecantusDB cannot be installed here. (tests/conformance starts one the same
way to kill it.)"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack.components import MissingTool, SecantusDB
from devstack.components.base import InstallFailed
from devstack.config import StackSettings
from devstack.service_process import free_port

START_TIMEOUT_S = 60.0


def _answers(server: SecantusDB) -> bool:
    try:
        server.probe()
    except Exception:
        return False
    return True


@contextmanager
def private_secantusdb(state_dir: Path) -> Iterator[SecantusDB]:
    server = SecantusDB(StackSettings(mongo_port=free_port(), state_dir=state_dir))
    try:
        server.ensure_installed()
    except (MissingTool, InstallFailed) as error:
        pytest.skip(f"a private SecantusDB cannot be installed here: {error}")
    log_file = server.settings.log_file(server.name)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            server.command(),
            cwd=state_dir,
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
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own session, started here
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
