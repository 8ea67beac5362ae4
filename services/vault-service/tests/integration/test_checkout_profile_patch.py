"""checkout-service's PATCH of a buyer's profile after a captured first purchase (scope
profiles:write): it creates the profile when there is none, changes only the fields it sends
(every other field keeps its ciphertext byte for byte), makes the address it sends the default
(the old default stays, an equal address is not added twice, at most 10 are kept, the oldest
non-default dropped), and two concurrent patches both land."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from vault_support import bearer

from buybutton.auth import Principal, TokenIssuer
from vault_service.checkout_profile import CheckoutProfilePatch
from vault_service.profile import ENCRYPTED_FIELDS
from vault_service.vault import Vault

AUD = "vault-service"
CHECKOUT = Principal("service", "checkout-service", frozenset({"profiles:write"}))
PATH = "/v1/buyers/buyer-ada/profile"
HOME = {"recipient": "Ada Lovelace", "line1": "12 Analytical Row", "city": "London",
        "postal_code": "N1 9GU", "country": "GB"}  # fmt: skip
WORK = {"recipient": "Ada at work", "line1": "1 Engine Lane", "city": "London",
        "postal_code": "EC1A 1BB", "country": "GB"}  # fmt: skip
FIRST_PURCHASE = {
    "stripe_customer_id": "cus_AdaFirst01",
    "default_payment_method_id": "pm_AdaVisa01",
    "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
    "shipping_address": HOME,
    "contact_email": "ada@example.com",
    "remember_me": True,
}


def checkout(issuer: TokenIssuer) -> dict[str, str]:
    return bearer(issuer.mint("service", "checkout-service", audience=AUD, scopes=["profiles:write"]))


def vault_of(client: TestClient) -> Vault:
    return client.app.state.vault  # type: ignore[attr-defined,no-any-return]


def stored(vault: Vault, buyer_id: str = "buyer-ada") -> dict[str, Any]:
    profile = vault.read(buyer_id, ENCRYPTED_FIELDS, actor=CHECKOUT, purpose="test")
    assert profile is not None
    return profile.values | {"consents": profile.consents.model_dump()}


def ciphertexts(vault: Vault) -> dict[str, bytes]:
    document = vault.profiles.find_one({"_id": "buyer-ada"})
    assert document is not None
    return {name: bytes(sealed) for name, sealed in document["fields"].items()}


def test_a_first_purchase_creates_the_profile_and_a_later_patch_changes_only_what_it_sends(
    client: TestClient, issuer: TokenIssuer
) -> None:
    created = client.patch(PATH, headers=checkout(issuer), json=FIRST_PURCHASE)
    assert created.status_code == 204, created.text
    values = stored(vault_of(client))
    assert values["shipping_addresses"] == [{**HOME, "line2": "", "region": "", "is_default": True}]
    assert values["stripe_customer_id"] == "cus_AdaFirst01"
    assert values["consents"] == {"remember_me": True, "share_email_with_merchant": False}

    before = ciphertexts(vault_of(client))
    new_card = {"brand": "mastercard", "last4": "4444", "exp_month": 3, "exp_year": 2031}
    new_card_body = {"card": new_card, "default_payment_method_id": "pm_AdaMaster01"}
    assert client.patch(PATH, headers=checkout(issuer), json=new_card_body).status_code == 204
    after = ciphertexts(vault_of(client))
    unchanged = {name for name in before if after.get(name) == before[name]}
    print(f"fields kept byte for byte: {sorted(unchanged)}")
    assert unchanged == {"shipping_addresses", "contact_email", "stripe_customer_id"}
    assert stored(vault_of(client))["card"] == new_card

    nulls = dict.fromkeys(FIRST_PURCHASE)  # a field sent as null stays as stored too
    assert client.patch(PATH, headers=checkout(issuer), json=nulls).status_code == 204
    assert ciphertexts(vault_of(client)) == after


def addresses_after(client: TestClient, issuer: TokenIssuer, *sent: dict[str, Any]) -> list[dict[str, Any]]:
    for address in sent:
        response = client.patch(PATH, headers=checkout(issuer), json={"shipping_address": address})
        assert response.status_code == 204, response.text
    return stored(vault_of(client))["shipping_addresses"]  # type: ignore[no-any-return]


def test_the_address_sent_becomes_the_default_once_and_ten_are_kept(
    client: TestClient, issuer: TokenIssuer
) -> None:
    kept = addresses_after(client, issuer, HOME, WORK)
    assert [(a["line1"], a["is_default"]) for a in kept] == [(HOME["line1"], False), (WORK["line1"], True)]

    again = addresses_after(client, issuer, {**HOME, "is_default": False})
    assert [(a["line1"], a["is_default"]) for a in again] == [(HOME["line1"], True), (WORK["line1"], False)]

    others = [{**WORK, "line1": f"{n} Engine Lane"} for n in range(2, 11)]
    ten = addresses_after(client, issuer, *others)
    print(f"after {2 + len(others)} addresses: {len(ten)} kept, first {ten[0]['line1']!r}")
    assert len(ten) == 10 and sum(a["is_default"] for a in ten) == 1
    assert ten[-1]["line1"] == "10 Engine Lane" and ten[-1]["is_default"]
    assert HOME["line1"] not in [a["line1"] for a in ten], "the oldest non-default is dropped"
    assert WORK["line1"] in [a["line1"] for a in ten]


def patch_from_threads(vault: Vault, bodies: list[dict[str, Any]]) -> list[BaseException]:
    start = threading.Barrier(len(bodies))
    failures: list[BaseException] = []

    def run(body: dict[str, Any]) -> None:
        start.wait()
        try:
            vault.edit("buyer-ada", CheckoutProfilePatch.model_validate(body), actor=CHECKOUT)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a patch did not finish within 60 s"
    return failures


def test_concurrent_patches_both_land(client: TestClient, issuer: TokenIssuer) -> None:
    """Patches that change different things all keep their change (each is decided again on
    the profile as stored after a lost race); patches of the same field end with one of the
    values whole (the last writer's)."""
    vault = vault_of(client)
    rounds, lost = 5, 0
    for round_number in range(rounds):
        vault.profiles.delete_many({})
        addresses = [{**WORK, "line1": f"{round_number}{n} Engine Lane"} for n in range(4)]
        cards = [
            {"brand": "visa", "last4": f"00{n}{round_number}", "exp_month": 1, "exp_year": 2031}
            for n in range(2)
        ]
        bodies = [{"shipping_address": a} for a in addresses] + [
            {"card": cards[0]},
            {"card": cards[1]},
            {"stripe_customer_id": f"cus_Ada{round_number}"},
            {"contact_email": f"ada{round_number}@example.com"},
        ]
        failures = patch_from_threads(vault, bodies)
        values = stored(vault)
        kept = {a["line1"] for a in values["shipping_addresses"]}
        missing = {a["line1"] for a in addresses} - kept
        lost += len(missing) + len(failures)
        print(f"round {round_number}: {len(bodies)} patches, {len(failures)} failed, missing {missing}")
        assert not failures and not missing
        assert sum(a["is_default"] for a in values["shipping_addresses"]) == 1
        assert values["card"] in cards, "one card whole, not a mix"
        assert values["stripe_customer_id"] == f"cus_Ada{round_number}"
        assert values["contact_email"] == f"ada{round_number}@example.com"
    print(f"{rounds} rounds of 8 concurrent patches: changes lost {lost}")
