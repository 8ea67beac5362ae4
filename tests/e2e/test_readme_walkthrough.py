"""The walkthrough of services/tweet-service/README.md works as written: its ``bash`` blocks, in
order, run by bash against rollout-service and tweet-service running as processes (TWEET and
ROLLOUT, the variables the README itself uses, point at them; ``.venv/bin/devstack token`` mints
with an identity of this test's own, which the services verify), end with a timeline whose
tweet shows ``buy_button: true``, having exchanged the merchant's API key for a merchant token
on the way (tweet-service signs with the key the local stack gives it). And the services, over
the wire, refuse a 5 MB body with 413, by Content-Length and chunked."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from devstack.config import REPO_ROOT, StackSettings
from devstack.endpoints import Endpoints
from devstack.identity import ensure_key_pair, service_trust
from devstack.service_process import RunningService, running_service
from devstack.topics import registry_topics_under

README = REPO_ROOT / "services" / "tweet-service" / "README.md"


def walkthrough_blocks(readme: Path) -> list[str]:
    """The ``bash`` blocks of the README's "Trying it by hand" section, in order."""
    text = readme.read_text()
    section = text[text.index("## Trying it by hand") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```bash\n(.*?)```", section, re.DOTALL)


def json_values(output: str) -> list[Any]:
    """Every JSON value printed one after the other (curl prints no newline after a body)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(output, at)) < len(output):
        value, at = decoder.raw_decode(output, at)
        values.append(value)
    return values


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


@pytest.fixture(scope="module")
def services(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """rollout-service and tweet-service as processes on topics, databases and an identity of
    this module's own; the identity's state folder is what ``devstack token`` is pointed at."""
    state_dir = tmp_path_factory.mktemp("devstack-state")
    stack = StackSettings(state_dir=state_dir)
    public_key = ensure_key_pair(stack)[1]
    name = f"readme-{uuid.uuid4().hex[:10]}"
    database = name.replace("-", "_")
    env = {
        **endpoints.as_env(),
        "AUTH_PUBLIC_KEY": public_key,
        **service_trust(stack, "tweet-service"),  # its merchant token key, as the local stack gives it
        "KAFKA_TOPIC_PREFIX": f"{name}.",
        "LOG_LEVEL": "WARNING",
        "ROLLOUT_MONGODB_DATABASE": f"{database}_rollout",
        "ROLLOUT_CONSUMER_GROUP": f"{name}-rollout-service",
        "TWEET_MONGODB_DATABASE": f"{database}_tweet",
    }
    try:
        with (
            registry_topics_under(endpoints.kafka_bootstrap, f"{name}."),
            running_service("rollout-service", env) as rollout,
            running_service("tweet-service", env) as tweets,
        ):
            yield {"rollout": rollout, "tweets": tweets, "state_dir": state_dir}
    finally:
        with MongoClient(endpoints.mongodb_url) as client:
            for suffix in ("_rollout", "_tweet"):
                client.drop_database(database + suffix)


def test_the_readme_walkthrough_ends_with_a_buy_button(services: dict[str, Any]) -> None:
    blocks = walkthrough_blocks(README)
    assert len(blocks) >= 4, "the walkthrough's blocks were not found"
    tweets: RunningService = services["tweets"]
    rollout: RunningService = services["rollout"]
    script = "set -euo pipefail\n" + "\n".join(blocks)
    ran = subprocess.run(
        ["bash", "-c", script],
        cwd=REPO_ROOT,
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(services["state_dir"]),
            "DEVSTACK_STATE_DIR": str(services["state_dir"]),
            "TWEET": tweets.url,
            "ROLLOUT": rollout.url,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(f"ran {len(blocks)} blocks, {len(script.splitlines())} lines; exit {ran.returncode}")
    assert ran.returncode == 0, f"stdout:\n{ran.stdout}\nstderr:\n{ran.stderr}"
    printed = json_values(ran.stdout)
    print(f"the walkthrough printed {len(printed)} JSON values; the last: {printed[-1]}")
    assert printed[-1]["buy_button"] is True, ran.stdout
    issued = [v for v in printed if isinstance(v, dict) and v.get("token_type") == "Bearer"]
    assert [v["audience"] for v in issued] == ["checkout-service"], "the merchant token block printed"
    assert printed[-1]["text"] == "The Puddle raincoat, buyable right here."


@pytest.mark.parametrize("how", ["content-length", "chunked"])
def test_a_5_mb_body_answers_413_over_the_wire(services: dict[str, Any], how: str) -> None:
    five_mb = 5 * 1024 * 1024

    def chunks() -> Iterator[bytes]:
        for _ in range(five_mb // 65_536):
            yield b"x" * 65_536

    for running in (services["tweets"], services["rollout"]):
        with httpx.Client(base_url=running.url, timeout=30) as http:
            content = b"x" * five_mb if how == "content-length" else chunks()
            try:
                response = http.post("/v1/anything", content=content)
            except httpx.WriteError:  # the server answered and closed before the body was sent
                pytest.fail(f"{running.name} closed the connection without an answer")
            assert response.status_code == 413, (running.name, response.text)
