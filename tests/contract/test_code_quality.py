"""The code stays as strict as the repository's own configuration says: ruff (lint and format)
and mypy --strict over the packages. A failure names the first problems it found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = [
    "shared/buybutton",
    "deploy/devstack/devstack",
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("services/*/*_*") if p.is_dir()),
]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_finds_nothing() -> None:
    lint = run(str(BIN / "ruff"), "check", ".")
    assert lint.returncode == 0, lint.stdout[-3000:]
    formatting = run(str(BIN / "ruff"), "format", "--check", ".")
    assert formatting.returncode == 0, formatting.stdout[-3000:]


def test_mypy_strict_passes() -> None:
    assert len(PACKAGES) == 7, PACKAGES
    result = run(str(BIN / "mypy"), *PACKAGES)
    assert result.returncode == 0, result.stdout[-3000:]
