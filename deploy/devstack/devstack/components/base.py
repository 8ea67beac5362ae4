"""What a component of the stack is: how it installs (once, cached), how it is prepared and
started, and how we know it really answers."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.config import StackSettings


class MissingTool(RuntimeError):
    """A tool the stack needs is not installed; the message says what to install."""


class InstallFailed(RuntimeError):
    """Fetching or building a component failed; the message names the log to read."""


def require_tool(executable: str, advice: str) -> str:
    path = shutil.which(executable)
    if path is None:
        raise MissingTool(f"'{executable}' not found: {advice}")
    return path


def content_key(*files: Path, extra: str = "") -> str:
    """A short hash of the files that define a build, so a change to them means a new build."""
    digest = hashlib.sha256(extra.encode())
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock, so two stacks starting at once do not build the same thing."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def run_logged(
    command: list[str], *, log_file: Path, cwd: Path, env: dict[str, str] | None = None, what: str
) -> None:
    """Run an install step with its output in ``log_file``; fail naming that log."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"\n--- devstack: {' '.join(command)}\n".encode())
        log.flush()
        result = subprocess.run(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise InstallFailed(f"{what} failed (exit {result.returncode}); see {log_file}")


class Component(ABC):
    name: str

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings

    @property
    def install_dir(self) -> Path:
        return self.settings.cache_dir / f"{self.name}-{self.cache_key()}"

    def is_installed(self) -> bool:
        return (self.install_dir / ".complete").exists()

    def ensure_installed(self) -> bool:
        """Install into the cache unless it is there already. True if work was done."""
        if self.is_installed():
            return False
        with exclusive(self.settings.cache_dir / f".{self.name}.lock"):
            if self.is_installed():
                return False
            self.check_tools()
            shutil.rmtree(self.install_dir, ignore_errors=True)
            self.install_dir.mkdir(parents=True)
            self.install()
            (self.install_dir / ".complete").touch()
        return True

    @abstractmethod
    def cache_key(self) -> str: ...

    @abstractmethod
    def check_tools(self) -> None:
        """Raise MissingTool, with a one-line hint, for a tool that install or start needs."""

    @abstractmethod
    def install(self) -> None: ...

    def prepare(self) -> None:  # noqa: B027 (optional step; most components need none)
        """One-off preparation of the data folder before the first start (nothing by default)."""

    def configuration_drift(self) -> str | None:
        """Why a running instance lacks this configuration (a restart would apply it), or None."""
        return None

    @abstractmethod
    def command(self) -> list[str]: ...

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    @abstractmethod
    def probe(self) -> None:
        """Return when the component answers a real request; raise otherwise."""

    @property
    @abstractmethod
    def address(self) -> str: ...


class WorkspaceComponent(Component):
    """A component that runs from this workspace's own packages (a platform service, the fake
    Stripe server): `uv sync` installed it, so there is nothing to fetch, build or cache."""

    def cache_key(self) -> str:
        return "workspace"

    def is_installed(self) -> bool:
        return True

    def check_tools(self) -> None:
        """It runs on the Python devstack itself runs on."""

    def install(self) -> None:
        """Nothing to install (see the class's doc)."""
