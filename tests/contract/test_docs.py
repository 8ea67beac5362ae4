"""The docs say what the code does: every event and topic is in the catalogue, the README
opens with the two commands, and CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from buybutton.events import ALL_EVENTS
from buybutton.topics import ALL_TOPICS
from devstack.components.service import PLATFORM_SERVICES

ROOT = Path(__file__).resolve().parents[2]


def test_event_catalogue_names_every_event_and_topic() -> None:
    catalogue = (ROOT / "docs" / "events.md").read_text()
    missing = [m.type_name() for m in ALL_EVENTS if f"| {m.type_name()} |" not in catalogue]
    missing += [t.name for t in ALL_TOPICS if f"`{t.name}`" not in catalogue]
    assert not missing, f"docs/events.md does not describe: {missing}"


def test_readme_opens_with_the_run_and_test_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands[:2] == ["make up", "make test"]


def test_ci_runs_the_readme_test_command_and_nothing_else() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    steps = [line for line in ci.splitlines() if line.strip() and not line.startswith("#")]
    assert steps[-1] == "make test"
    assert all(s.startswith(("set ", "cd ")) for s in steps[:-1]), steps


def test_every_service_has_a_readme_and_a_port_in_operations() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    for spec in PLATFORM_SERVICES:
        assert (ROOT / "services" / spec.name / "README.md").is_file(), spec.name
        assert f"| {spec.name} | {spec.port} |" in operations, spec.name
