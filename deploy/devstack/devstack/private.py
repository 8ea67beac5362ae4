"""Private instances of the stack's components, for tests that kill, stop and start again a
broker or a database server (never the shared stack's, which other work relies on).

A ``PrivateServer`` runs one of the stack's components (the same Component classes the stack
starts: Kafka in KRaft mode, SecantusDB) on free loopback ports, with a state folder of its own
(data, logs, pid file). ``start()`` prepares the data folder once, launches the process and
returns when the component's own probe answers a real request; ``kill()`` sends SIGKILL to its
process group, ``stop()`` SIGTERM (SIGKILL after a grace period); ``restart()`` is either one
and ``start()`` again, on the same data. Every wait has a deadline, and a process that exits
while starting fails at once with the tail of its log. ``kill`` and ``stop`` answer the return
code the process ended with (-9 after SIGKILL), so a test can show that the fault it meant to
inject is the one that happened.

``private_kafka`` and ``private_secantusdb`` install the component if the cache lacks it, start
one and kill it when the block ends. The calls block (the probes run their own event loop):
async tests call them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

from devstack.components import Component, Kafka, SecantusDB
from devstack.config import StackSettings
from devstack.processes import ManagedProcess, signal_group
from devstack.service_process import free_port

ComponentT = TypeVar("ComponentT", bound=Component)
START_TIMEOUT_S = 120.0
STOP_GRACE_S = 30.0
PROBE_INTERVAL_S = 0.2


class ServerDidNotStart(RuntimeError):
    """The private server exited while starting or did not answer in time; the message ends
    with the tail of its log."""


class PrivateServer(Generic[ComponentT]):
    def __init__(self, component: ComponentT, *, start_timeout_s: float = START_TIMEOUT_S) -> None:
        self.component = component
        self.start_timeout_s = start_timeout_s
        self.record = ManagedProcess(component.name, component.settings.run_dir / f"{component.name}.pid")
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def address(self) -> str:
        return self.component.address

    @property
    def log_file(self) -> Path:
        return self.component.settings.log_file(self.name)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def start(self) -> None:
        """Launch on the state folder (prepared the first time) and wait until it answers."""
        if self.running:
            raise RuntimeError(f"private {self.name} is already running")
        self.component.prepare()
        self._process = self.record.launch(
            self.component.command(),
            log_file=self.log_file,
            cwd=self.component.settings.state_dir,
            env=self.component.environment(),
        )
        self.starts += 1
        self._wait_until_answering(self._process)

    def _wait_until_answering(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            try:
                self.component.probe()
                return
            except Exception as error:  # any failure of the probe means "not yet"
                problem = f"{type(error).__name__}: {error}"
            if process.poll() is not None:
                raise ServerDidNotStart(
                    f"private {self.name} exited with {process.returncode} while starting "
                    f"(see {self.log_file}):\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise ServerDidNotStart(
                    f"private {self.name} did not answer on {self.address} within "
                    f"{self.start_timeout_s:.0f} s (last probe: {problem}):\n{self.log_tail()}"
                )
            time.sleep(PROBE_INTERVAL_S)

    def kill(self) -> int:
        """SIGKILL the process group; the return code the process ended with."""
        process = self._running_process()
        signal_group(process.pid, signal.SIGKILL)
        return self._ended(process, timeout_s=STOP_GRACE_S)

    def stop(self, *, grace_s: float = STOP_GRACE_S) -> int:
        """SIGTERM the process group, SIGKILL it after ``grace_s``; the return code."""
        process = self._running_process()
        signal_group(process.pid, signal.SIGTERM)
        try:
            return self._ended(process, timeout_s=grace_s)
        except subprocess.TimeoutExpired:
            return self.kill()

    def restart(self, *, kill: bool = False) -> int:
        """``kill()`` or ``stop()``, then ``start()`` on the same data; how the old one ended."""
        ended = self.kill() if kill else self.stop()
        self.start()
        return ended

    def close(self) -> None:
        """Kill it if it runs (the end of a test: its data is not needed again)."""
        if self.running:
            self.kill()

    def _running_process(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            raise RuntimeError(f"private {self.name} is not running")
        return self._process

    def _ended(self, process: subprocess.Popen[bytes], *, timeout_s: float) -> int:
        code = process.wait(timeout=timeout_s)
        self.record.pid_file.unlink(missing_ok=True)
        return code


class PrivateKafka(PrivateServer[Kafka]):
    @property
    def bootstrap_servers(self) -> str:
        return self.component.address

    @property
    def merchant_bootstrap_servers(self) -> str:
        """The SASL/SCRAM listener merchants use (see devstack.components.kafka)."""
        return self.component.merchant_address


class PrivateSecantusDB(PrivateServer[SecantusDB]):
    @property
    def url(self) -> str:
        return self.component.url


def _free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def kafka_settings(state_dir: Path, *, heap: str = "512m") -> StackSettings:
    broker, controller, merchants = _free_ports(3)
    return StackSettings(
        kafka_port=broker,
        kafka_controller_port=controller,
        kafka_merchant_port=merchants,
        kafka_heap=heap,
        state_dir=state_dir,
    )


def secantusdb_settings(state_dir: Path) -> StackSettings:
    return StackSettings(mongo_port=free_port(), state_dir=state_dir)


@contextmanager
def private_kafka(state_dir: Path, *, heap: str = "512m") -> Iterator[PrivateKafka]:
    """A single-node Kafka (broker and controller) of one's own, running until the block ends."""
    server = PrivateKafka(Kafka(kafka_settings(state_dir, heap=heap)))
    with _running(server):
        yield server


@contextmanager
def private_secantusdb(state_dir: Path) -> Iterator[PrivateSecantusDB]:
    """A SecantusDB (``--sync-on-commit``) of one's own, running until the block ends."""
    server = PrivateSecantusDB(SecantusDB(secantusdb_settings(state_dir)))
    with _running(server):
        yield server


@contextmanager
def _running(server: PrivateServer[ComponentT]) -> Iterator[None]:
    server.component.ensure_installed()
    try:
        server.start()
        yield
    finally:
        server.close()
