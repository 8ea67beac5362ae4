"""Run one of the platform's services as a real process for an end-to-end test or a benchmark:
``python -m <package>`` on a free loopback port, configured only by environment variables (as
in production), ready once ``GET /healthz`` names it; stopped (SIGTERM, then SIGKILL) when the
block ends. Its output goes to a log file whose tail is shown if it fails to start, kept only
when the block failed. The caller's own <PREFIX>_* variables are not passed on, so a developer's
shell never changes what a test runs; ``ENVIRONMENT`` is ``test`` unless ``env`` names another.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.components.service import PLATFORM_SERVICES


@dataclass
class RunningService:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str, name: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return name.encode() in response.read()
    except OSError:
        return False


@contextlib.contextmanager
def running_service(
    name: str, env: dict[str, str], *, start_timeout_s: float = 60.0
) -> Iterator[RunningService]:
    """``name`` (e.g. "tweet-service") running with ``env`` on top of this process's environment."""
    spec = next(s for s in PLATFORM_SERVICES if s.name == name)
    port = free_port()  # a race with other programs is possible, and fails the start loudly
    descriptor, log_name = tempfile.mkstemp(prefix=f"{name}-", suffix=".log")
    os.close(descriptor)
    log_path = Path(log_name)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(f"{spec.env_prefix}_")}
    environment = {
        **inherited,
        "ENVIRONMENT": "test",
        **env,
        f"{spec.env_prefix}_HTTP_HOST": "127.0.0.1",
        f"{spec.env_prefix}_HTTP_PORT": str(port),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", spec.package], env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    service = RunningService(name, f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + start_timeout_s
        while not _answers(service.url, name):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start (exit {process.poll()}):\n{service.log_tail()}")
            time.sleep(0.1)
        yield service
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log_path.unlink(missing_ok=True)  # reached only when the block succeeded
