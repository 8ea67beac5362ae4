"""Property: a card number (Stripe's test numbers and random Luhn-valid ones, written with random
separators, beside words or other digit groups) is refused in every place rollout-service takes
an id: the rule name in the path, sellers, override users and the salt in bodies, every query
parameter of the explanation, and the admin token's subject; never echoed, never sent as a
command (so never a Kafka key), never audited. Prints its counts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import quote

import pytest
from card_samples import Place, generated_cards_refused
from fastapi.testclient import TestClient
from rollout_support import READ, WRITE, Mint, audit_entries, create

from buybutton.topics import ROLLOUT_COMMANDS
from devstack.testing import read_all
from rollout_service.config import Settings


def places(client: TestClient, admin: Mint, rule_name: str) -> dict[str, Place]:
    rule = f"/v1/rules/{rule_name}"

    def put(field: str, value: Callable[[str], object]) -> Place:
        return (
            lambda t: client.put(rule, headers=admin(WRITE), json={"percentage_bps": 1, field: value(t)}),
            422,
        )

    def explain(parameter: str) -> Place:
        base = {"user_id": "buyer-ada", "seller_id": "acme-store", "country": "US"}
        return (lambda t: client.get("/v1/explain", headers=admin(READ), params={**base, parameter: t}), 422)

    return {
        "rule name, PUT (path)": (
            lambda t: client.put(
                f"/v1/rules/{quote(t, safe='')}", headers=admin(WRITE), json={"percentage_bps": 1}
            ),
            422,
        ),
        "rule name, GET (path)": (
            lambda t: client.get(f"/v1/rules/{quote(t, safe='')}", headers=admin(READ)),
            422,
        ),
        "allowed sellers": put("allowed_sellers", lambda t: [t]),
        "override users": put("override_users", lambda t: [t]),
        "salt": put("salt", lambda t: t),
        "sellers added": (
            lambda t: client.post(f"{rule}/sellers", headers=admin(WRITE), json={"add": [t]}),
            422,
        ),
        "overrides removed": (
            lambda t: client.post(f"{rule}/overrides", headers=admin(WRITE), json={"remove": [t]}),
            422,
        ),
        "user_id (query)": explain("user_id"),
        "seller_id (query)": explain("seller_id"),
        "rule_name (query)": explain("rule_name"),
        "admin token subject": (
            lambda t: client.put(
                f"{rule}/percentage", headers=admin(WRITE, subject=t), json={"percentage_bps": 5}
            ),
            401,
        ),
    }


def test_card_numbers_are_refused_everywhere_and_never_sent_or_audited(
    client: TestClient,
    admin: Mint,
    module_settings: Settings,
    rule_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create(client, admin, rule_name)
    where = places(client, admin, rule_name)
    tried = generated_cards_refused(where, service="rollout-service", examples=40, capsys=capsys)
    assert tried["accepted"] == 0
    commands = asyncio.run(
        read_all(
            module_settings.kafka_bootstrap_servers, ROLLOUT_COMMANDS.named(module_settings.topic_prefix)
        )
    )
    assert [record.key for record in commands] == [rule_name.encode()], "only the rule's creation"
    assert len(audit_entries(module_settings, rule_name)) == 1
