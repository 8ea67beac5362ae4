"""The stack's own rules, without starting Kafka: exact stops, clear errors, endpoint sources,
what a platform service is given."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.components import Kafka, MissingTool
from devstack.components.service import PLATFORM_SERVICES, PlatformService
from devstack.config import StackSettings
from devstack.endpoints import Endpoints
from devstack.processes import ManagedProcess
from devstack.stack import Stack, StackError


def test_stop_ends_the_process_it_started_and_only_that(tmp_path: Path) -> None:
    ours = ManagedProcess("sleeper", tmp_path / "sleeper.pid")
    pid = ours.spawn(
        [sys.executable, "-c", "import time; time.sleep(120)"],
        log_file=tmp_path / "sleeper.log",
        cwd=tmp_path,
        env={},
    )
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        assert ours.running_pid() == pid
        assert ours.stop(grace_s=5) is True
        assert ours.running_pid() is None
        assert not (tmp_path / "sleeper.pid").exists()
        assert bystander.poll() is None, "a process the stack did not start is left alone"
    finally:
        bystander.kill()
        bystander.wait()


def test_a_recycled_pid_is_never_signalled(tmp_path: Path) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        stale = ManagedProcess("kafka", tmp_path / "kafka.pid")
        stale.pid_file.write_text(f"{bystander.pid} 1\n")  # same pid, another start time
        assert stale.running_pid() is None
        assert stale.stop(grace_s=1) is False
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_missing_tool_is_named_with_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingTool, match=r"'java' not found: .*apt-get install openjdk"):
        Kafka(StackSettings(cache_dir=tmp_path, state_dir=tmp_path)).check_tools()


def test_a_port_taken_by_another_program_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        stack = Stack(StackSettings(state_dir=tmp_path, stripe_port=port), report=lambda _: None)
        with pytest.raises(StackError, match=rf"stripe-mock: 127.0.0.1:{port} is already taken"):
            stack._start(stack.stripe_mock)
    assert not (tmp_path / "run" / "stripe-mock.pid").exists()


def test_endpoints_come_from_the_environment_all_or_none() -> None:
    assert Endpoints.from_env({}) is None
    full = {
        "KAFKA_BOOTSTRAP_SERVERS": "k:9092",
        "MONGODB_URL": "mongodb://m/",
        "STRIPE_API_BASE": "http://s:12111",
    }
    assert Endpoints.from_env(full) == Endpoints("k:9092", "mongodb://m/", "http://s:12111")
    with pytest.raises(RuntimeError, match="MONGODB_URL, STRIPE_API_BASE not"):
        Endpoints.from_env({"KAFKA_BOOTSTRAP_SERVERS": "k:9092"})


def test_checkout_pays_through_the_fake_stripe_unless_the_shell_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoints = Endpoints(
        "127.0.0.1:19092",
        "mongodb://127.0.0.1:27027/",
        "http://127.0.0.1:12111",
        "http://127.0.0.1:12113",
        "whsec_x",
    )
    settings = StackSettings(state_dir=tmp_path)
    services = {spec.name: PlatformService(settings, spec, endpoints) for spec in PLATFORM_SERVICES}
    checkout, tweets = services["checkout-service"], services["tweet-service"]
    for name in ("CHECKOUT_STRIPE_API_BASE", "CHECKOUT_STRIPE_SECRET_KEY", "CHECKOUT_STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)

    by_default = checkout.environment()
    assert by_default["CHECKOUT_STRIPE_API_BASE"] == "http://127.0.0.1:12113"
    assert by_default["CHECKOUT_STRIPE_SECRET_KEY"].startswith("sk_test_")
    assert by_default["CHECKOUT_STRIPE_WEBHOOK_SECRET"] == "whsec_x"
    assert not any(name.startswith("TWEET_STRIPE") for name in tweets.environment())

    monkeypatch.setenv("CHECKOUT_STRIPE_API_BASE", "")
    monkeypatch.setenv("CHECKOUT_STRIPE_SECRET_KEY", "sk_test_mine")
    assert (
        checkout.environment()["CHECKOUT_STRIPE_API_BASE"],
        checkout.environment()["CHECKOUT_STRIPE_SECRET_KEY"],
    ) == (
        "",
        "sk_test_mine",
    )
