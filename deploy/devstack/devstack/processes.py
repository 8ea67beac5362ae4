"""Start a component as a detached process and stop exactly that process later.

A pid file holds the pid and the process's start time (from /proc), so a pid that the kernel
has since handed to another program is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces; fields after its closing parenthesis are fixed
    fields_after_name = stat.rsplit(")", 1)[1].split()
    state = fields_after_name[0]
    if state in ("Z", "X"):
        return None
    return fields_after_name[19]


@dataclass(frozen=True)
class ManagedProcess:
    """A process this stack started, as recorded in its pid file."""

    name: str
    pid_file: Path

    def read(self) -> tuple[int, str] | None:
        try:
            pid_text, ticks = self.pid_file.read_text().split()
            return int(pid_text), ticks
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """The pid if the recorded process is still the one we started and still alive."""
        record = self.read()
        if record is None:
            return None
        pid, ticks = record
        return pid if _start_ticks(pid) == ticks else None

    def spawn(self, command: list[str], *, log_file: Path, cwd: Path, env: dict[str, str]) -> int:
        return self.launch(command, log_file=log_file, cwd=cwd, env=env).pid

    def launch(
        self, command: list[str], *, log_file: Path, cwd: Path, env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        """Start ``command`` in a session of its own, output appended to ``log_file``, and record
        it in the pid file; the Popen is for a caller that waits for it (and so learns how it
        ended), as tests that kill a server do."""
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("ab") as log:
            log.write(f"\n--- devstack: starting {' '.join(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: our stop signal reaches it all
            )
        ticks = _start_ticks(process.pid)
        self.pid_file.write_text(f"{process.pid} {ticks}\n")
        return process

    def stop(self, *, grace_s: float = 20.0) -> bool:
        """SIGTERM the process group, SIGKILL it after ``grace_s``. True if something was stopped."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and self.running_pid() is not None:
            _reap(pid)
            time.sleep(0.1)
        if self.running_pid() is not None:
            signal_group(pid, signal.SIGKILL)
            while self.running_pid() is not None:
                _reap(pid)
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True


def signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the process group ``pid`` leads (a process started by ``launch``)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our own child (else it stays a zombie)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
