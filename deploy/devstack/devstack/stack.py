"""Bring the local stack up, take it down, and say how it is.

``up`` installs what is missing (cached), starts what is not running, and returns only when
every component answers a real request, or raises StackError naming the component and its log.
``down`` stops the processes recorded in the stack's pid files and nothing else.
A component that was already running with an older configuration (Kafka without the merchants'
SASL listener) is reported, never restarted: other work may rely on it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from devstack.components import Component, FakeStripe, Kafka, SecantusDB, StripeMock
from devstack.components.base import exclusive
from devstack.components.fake_stripe import ensure_webhook_secret
from devstack.components.service import PLATFORM_SERVICES, PlatformService
from devstack.config import StackSettings
from devstack.endpoints import Endpoints
from devstack.processes import ManagedProcess

Report = Callable[[str], None]


class StackError(RuntimeError):
    """A component could not be started; the message names it and the log to read."""


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    address: str
    pid: int | None
    answering: bool


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _log_tail(component: Component, lines: int = 15) -> str:
    log = component.settings.log_file(component.name)
    try:
        tail = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join(f"    {line}" for line in tail)


class Stack:
    def __init__(
        self, settings: StackSettings | None = None, report: Report = print, *, with_services: bool = False
    ) -> None:
        self.settings = settings or StackSettings()
        self.report = report
        self.kafka = Kafka(self.settings)
        self.mongodb = SecantusDB(self.settings)
        self.stripe_mock = StripeMock(self.settings)
        self.fake_stripe = FakeStripe(self.settings)
        self.infrastructure: list[Component] = [self.kafka, self.mongodb, self.stripe_mock, self.fake_stripe]
        self.services: list[Component] = [
            PlatformService(self.settings, spec, self.endpoints()) for spec in PLATFORM_SERVICES
        ]
        self.components = self.infrastructure + (self.services if with_services else [])

    def endpoints(self) -> Endpoints:
        return Endpoints(
            kafka_bootstrap=self.kafka.address,
            mongodb_url=self.mongodb.url,
            stripe_api_base=self.stripe_mock.url,
            fake_stripe_api_base=self.fake_stripe.url,
            fake_stripe_webhook_secret=ensure_webhook_secret(self.settings),
            kafka_merchant_bootstrap=self.kafka.merchant_address,
        )

    def process(self, component: Component) -> ManagedProcess:
        return ManagedProcess(component.name, self.settings.run_dir / f"{component.name}.pid")

    def _answers(self, component: Component) -> bool:
        try:
            component.probe()
        except Exception:
            return False
        return True

    def status(self) -> list[ComponentStatus]:
        return [
            ComponentStatus(c.name, c.address, self.process(c).running_pid(), self._answers(c))
            for c in self.infrastructure + self.services
        ]

    def up(self) -> list[str]:
        """Start what is not running; return the names of the components this call started."""
        with exclusive(self.settings.state_dir / "stack.lock"):
            for component in self.components:
                self._install(component)
            # services need the infrastructure answering before they start
            started = self._start_all(self.infrastructure)
            started += self._start_all([c for c in self.components if c in self.services])
        for component in started:
            self.report(f"{component.name} is up on {component.address}")
        for component in self.components:
            drift = None if component in started else component.configuration_drift()
            if drift:
                self.report(f"{component.name}: running with an older configuration: {drift}")
        return [c.name for c in started]

    def _start_all(self, components: list[Component]) -> list[Component]:
        started = [c for c in components if self._start(c)]
        for component in components:
            self._wait_until_answering(component)
        return started

    def down(self, names: Iterable[str] | None = None) -> list[str]:
        """Stop the named components (by default all, services included); return those stopped."""
        everything = self.infrastructure + self.services
        wanted = set(names) if names is not None else {c.name for c in everything}
        stopped = []
        with exclusive(self.settings.state_dir / "stack.lock"):
            for component in reversed(everything):
                if component.name in wanted and self.process(component).stop():
                    self.report(f"{component.name} stopped")
                    stopped.append(component.name)
        return stopped

    def _install(self, component: Component) -> None:
        if component.is_installed():
            return
        self.report(f"{component.name}: installing into {component.install_dir} (once; cached)")
        began = time.monotonic()
        component.ensure_installed()
        self.report(f"{component.name}: installed in {time.monotonic() - began:.0f} s")

    def _start(self, component: Component) -> bool:
        process = self.process(component)
        if process.running_pid() is not None:
            return False
        host, port = component.address.rsplit(":", 1)
        if _port_taken(host, int(port)):
            if self._answers(component):  # e.g. the stack of another checkout: use, never stop
                self.report(f"{component.name}: using the one already answering on {component.address}")
                return False
            raise StackError(
                f"{component.name}: {component.address} is already taken by a program this stack "
                f"did not start; stop it or choose another port (see devstack/config.py)"
            )
        component.check_tools()
        component.prepare()
        self.report(f"{component.name}: starting on {component.address}")
        process.spawn(
            component.command(),
            log_file=self.settings.log_file(component.name),
            cwd=self.settings.state_dir,
            env=component.environment(),
        )
        return True

    def _wait_until_answering(self, component: Component) -> None:
        process = self.process(component)
        log = self.settings.log_file(component.name)
        deadline = time.monotonic() + self.settings.start_timeout_s
        while True:
            if self._answers(component):
                return
            if process.running_pid() is None:
                raise StackError(
                    f"{component.name} exited while starting; see {log}:\n{_log_tail(component)}"
                )
            if time.monotonic() > deadline:
                raise StackError(
                    f"{component.name} did not answer on {component.address} within "
                    f"{self.settings.start_timeout_s:.0f} s; see {log}:\n{_log_tail(component)}"
                )
            time.sleep(0.25)
