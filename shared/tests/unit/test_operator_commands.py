"""The operator commands refuse what the registry does not declare, before touching a broker."""

from __future__ import annotations

from typer.testing import CliRunner

from buybutton.kafka.cli import dlq_app, topics_app

NO_BROKER = "127.0.0.1:9"  # nothing listens: a command that reached for the broker would fail


def test_replay_is_refused_for_a_group_that_does_not_consume_the_topic() -> None:
    result = CliRunner().invoke(
        dlq_app,
        ["replay", "checkout.orders.v1", "--group", "tweet-service", "--bootstrap-servers", NO_BROKER],
    )
    assert result.exit_code == 2
    assert "tweet-service does not consume checkout.orders.v1" in result.output
    assert "merchant-relay, vault-service" in result.output


def test_replay_is_refused_for_a_topic_the_registry_does_not_declare() -> None:
    result = CliRunner().invoke(
        dlq_app,
        ["replay", "checkout.orders.v9", "--group", "vault-service", "--bootstrap-servers", NO_BROKER],
    )
    assert result.exit_code == 2 and "not a registry topic" in result.output


def test_the_registry_lists_each_topics_consumer_groups() -> None:
    result = CliRunner().invoke(topics_app, ["list"])
    assert result.exit_code == 0
    assert "vault-service" in result.output and "merchant-relay" in result.output
