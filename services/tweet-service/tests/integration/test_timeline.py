"""Buyers' timelines: each product tweet carries its card and a buy_button decided in-process by
the rollout gate for that buyer; rule changes on the compacted topic reach the service within
a bounded time; a tweet without a product, or from a seller not allow-listed, never shows Buy."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tweet_support import GALOSH, PUDDLE, api_key, buyer, publish_rules, raincoat, register, rules

from buybutton.auth import TokenIssuer
from buybutton.rollout import GateRules
from devstack.testing import wait_for
from tweet_service.app import create_app
from tweet_service.config import Settings


def post(client: TestClient, key: str, merchant: str, body: dict[str, Any]) -> str:
    response = client.post(f"/v1/merchants/{merchant}/tweets", headers=api_key(key), json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["tweet_id"])


def newest_first(tweets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(tweets, key=lambda t: (t["posted_at"], t["tweet_id"]), reverse=True)


def button(
    client: TestClient, issuer: TokenIssuer, tweet_id: str, buyer_id: str, country: str | None
) -> bool:
    response = client.get(f"/v1/tweets/{tweet_id}", headers=buyer(issuer, buyer_id, country))
    assert response.status_code == 200, response.text
    return bool(response.json()["buy_button"])


def test_timeline_shows_cards_and_buttons_newest_first_in_pages(
    client: TestClient, issuer: TokenIssuer, puddle_key: str, galosh_key: str
) -> None:
    coat = post(client, puddle_key, PUDDLE, raincoat())
    plain = post(client, puddle_key, PUDDLE, {"text": "Forecast: rain all week."})
    wellies = post(client, galosh_key, GALOSH, {"text": "Galosh wellies, coming soon."})
    first = client.get("/v1/timeline", headers=buyer(issuer), params={"limit": 2}).json()
    second = client.get(
        "/v1/timeline", headers=buyer(issuer), params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    shown = first["tweets"] + second["tweets"]
    # newest first as the server orders: by (posted_at, tweet_id), so posts within one millisecond too
    assert [t["tweet_id"] for t in shown] == [t["tweet_id"] for t in newest_first(shown)]
    assert sorted(t["tweet_id"] for t in shown) == sorted([wellies, plain, coat])
    buttons = {t["tweet_id"]: t["buy_button"] for t in shown}
    assert buttons == {wellies: False, plain: False, coat: True}
    card = next(t for t in shown if t["tweet_id"] == coat)["product"]
    assert card["title"] == "Puddle raincoat" and card["image_urls"] == [
        "https://img.example.com/raincoat.jpg"
    ]
    assert [(v["variant_id"], v["sold_out"]) for v in card["variants"]] == [
        ("raincoat-m", False),
        ("raincoat-l", True),
    ]
    assert card["sold_out"] is False
    assert all("stock" not in v for v in card["variants"]), "only the merchant sees its stock counts"
    assert second["next_cursor"] is None
    assert client.get("/v1/tweets/tweet-missing", headers=buyer(issuer)).status_code == 404


async def test_the_gate_decides_per_buyer_exactly_as_the_shared_rules_do(
    client: TestClient, issuer: TokenIssuer, puddle_key: str, tweet_settings: Settings
) -> None:
    coat = post(client, puddle_key, PUDDLE, raincoat())
    ten_percent = rules(percentage_bps=1_000, override_users=["buyer-zed"])
    await publish_rules(tweet_settings.kafka_bootstrap_servers, tweet_settings.topic_prefix, ten_percent)
    gate = GateRules.of(ten_percent)
    await wait_for(
        lambda: all(
            button(client, issuer, coat, f"buyer-{n}", "US") == gate.shows(f"buyer-{n}", "US", PUDDLE)
            for n in range(5)
        ),
        what="the 10 % rules in force",
    )
    buyers = [f"buyer-{n}" for n in range(300)]
    shown = {b for b in buyers if button(client, issuer, coat, b, "US")}
    assert shown == {b for b in buyers if gate.shows(b, "US", PUDDLE)}
    assert 0 < len(shown) < 90  # about 30 of 300
    assert not any(button(client, issuer, coat, b, country) for b in buyers[:50] for country in ("GB", None))
    assert button(client, issuer, coat, "buyer-zed", None), "override users see the button anywhere"


async def test_kill_switch_and_removal_from_the_allow_list_hide_every_button(
    client: TestClient, issuer: TokenIssuer, puddle_key: str, tweet_settings: Settings
) -> None:
    coat = post(client, puddle_key, PUDDLE, raincoat())
    assert button(client, issuer, coat, "buyer-ada", "US")
    await publish_rules(
        tweet_settings.kafka_bootstrap_servers, tweet_settings.topic_prefix, rules(kill_switch=True)
    )
    await wait_for(
        lambda: not button(client, issuer, coat, "buyer-ada", "US"), timeout_s=10, what="kill switch"
    )
    await publish_rules(tweet_settings.kafka_bootstrap_servers, tweet_settings.topic_prefix, rules())
    await wait_for(lambda: button(client, issuer, coat, "buyer-ada", "US"), timeout_s=10, what="switch off")
    delisted = rules(allowed_sellers=[GALOSH], override_users=["buyer-ada"])
    await publish_rules(tweet_settings.kafka_bootstrap_servers, tweet_settings.topic_prefix, delisted)
    await wait_for(lambda: not button(client, issuer, coat, "buyer-ada", "US"), timeout_s=10, what="delisted")
    refused = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(puddle_key), json=raincoat())
    assert refused.status_code == 403


async def test_without_known_rules_no_button_shows_and_no_product_may_be_posted(
    tweet_settings: Settings, issuer: TokenIssuer, mongo_client: Any
) -> None:
    """Fail closed: an empty rules topic means no seller is allow-listed and no button shows;
    once rules arrive, the same service picks them up."""
    with TestClient(create_app(tweet_settings)) as client:
        key = register(client, issuer, PUDDLE)
        refused = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(key), json=raincoat())
        assert refused.status_code == 403
        post(client, key, PUDDLE, {"text": "Raincoats soon."})
        assert [
            t["buy_button"] for t in client.get("/v1/timeline", headers=buyer(issuer)).json()["tweets"]
        ] == [False]
        await publish_rules(tweet_settings.kafka_bootstrap_servers, tweet_settings.topic_prefix, rules())
        coat: list[str] = []

        def posted_once_allowed() -> bool:
            response = client.post(f"/v1/merchants/{PUDDLE}/tweets", headers=api_key(key), json=raincoat())
            coat.extend([response.json()["tweet_id"]] if response.status_code == 201 else [])
            return bool(coat)

        await wait_for(posted_once_allowed, timeout_s=10, what="rules picked up")
        assert button(client, issuer, coat[0], "buyer-ada", "US")
    mongo_client.drop_database(tweet_settings.database_name)
