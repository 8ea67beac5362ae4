"""The docs say what the code does: every event and topic is in the catalogue, the README
opens with the two commands, CI runs exactly the README's test command, and the rollout gate's
bucketing function and examples in docs/rollout-gate.md are the code's."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from buybutton.events import ALL_EVENTS
from buybutton.rollout import bucket
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


def gate_doc() -> str:
    return (ROOT / "docs" / "rollout-gate.md").read_text()


def test_the_gate_doc_states_the_bucketing_function_with_vectors_the_code_agrees_with() -> None:
    vectors = re.findall(r"\| `([^`]+)` \| `([^`]+)` \| `([0-9a-f]{16})` \| (\d+) \|", gate_doc())
    assert len(vectors) >= 3, "the test vectors table was not found"
    for salt, user_id, digest_hex, stated in vectors:
        # the function as the doc states it, written from the doc alone
        digest = hashlib.blake2b(f"{salt}:{user_id}".encode(), digest_size=8).digest()
        assert digest.hex() == digest_hex, (salt, user_id)
        assert int.from_bytes(digest, "big") % 10_000 == int(stated) == bucket(salt, user_id), (salt, user_id)


def test_the_gate_doc_examples_explain_what_the_code_decides() -> None:
    """Each explanation shown after an explain call is the code's, for the example's rules."""
    doc = gate_doc()
    salt = re.search(r'"salt": "([^"]+)"', doc)
    assert salt is not None
    answers: list[tuple[str, str]] = []  # (user id, the answer shown under its explain call)
    for line in doc.splitlines():
        asked = re.search(r"explain\?user_id=([\w-]+)&", line)
        if asked:
            answers.append((asked.group(1), ""))
        elif answers and line.startswith("# ") and not answers[-1][1].endswith("}"):
            answers[-1] = (answers[-1][0], f"{answers[-1][1]} {line[2:]}".strip())
    answers = [answer for answer in answers if answer[1]]
    assert len(answers) == 3, answers
    kill_switch_seen = False
    for user_id, shown in answers:
        user_bucket = bucket(salt.group(1), user_id)
        assert f'"bucket": {user_bucket}' in shown, (user_id, shown)
        kill_switch_seen = kill_switch_seen or '"kill switch is on"' in shown
        if '"kill switch is on"' in shown:
            assert '"shown": false' in shown
        elif user_bucket < 1000:
            assert '"shown": true' in shown and f"bucket {user_bucket} < 1000" in shown
        else:
            assert '"shown": false' in shown and f"bucket {user_bucket} >= 1000" in shown
    assert kill_switch_seen, "the example shows the explanation after the kill switch"
    assert doc.index('"kill switch is on"') > doc.index('"on": true}'), "after, not before, the switch"
