"""The vault README's examples of a buyer saving and patching a profile, and of checkout storing
an order's address, patching a profile and reading the saved-profile hint, are what the API
takes and answers; its statement about ``is_default`` is the code's (exactly one default, also
for a single address), and so is its statement that a buyer's body naming a payment field is
refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from vault_service.buyer_profile import BuyerProfileIn, BuyerProfilePatch
from vault_service.checkout_api import OrderShippingIn
from vault_service.checkout_profile import CheckoutProfilePatch
from vault_service.profile import MaskedProfile, mask_address

README = Path(__file__).resolve().parents[2] / "README.md"


def bodies_under(heading: str) -> list[dict[str, Any]]:
    """The JSON bodies (``-d '...'``) of the README's section ``heading``, up to the next heading."""
    section = re.split(r"\n##+ ", README.read_text().split(f"### {heading}", 1)[1], maxsplit=1)[0]
    return [json.loads(body) for body in re.findall(r"-d '(\{.*?\})'\n", section, re.DOTALL)]


def example_bodies() -> list[dict[str, Any]]:
    bodies = bodies_under("Saving a profile")
    assert len(bodies) == 2, "the README's PUT and PATCH example bodies were not found"
    return bodies


def example_body() -> dict[str, Any]:
    return example_bodies()[0]


def test_the_readme_example_is_accepted_and_answered_as_shown() -> None:
    profile = BuyerProfileIn.model_validate(example_body())
    masked = MaskedProfile.of(profile.as_edit().values, profile.consents).model_dump()
    assert masked["shipping_addresses"][0] == {
        "recipient": "Ada Lovelace",
        "city": "London",
        "country": "GB",
        "line1": "12 ***",
        "is_default": True,
    }
    assert masked["contact_email"] == "a***@example.com"


def test_one_address_without_is_default_is_refused_as_the_readme_says() -> None:
    single = example_body()["shipping_addresses"][1]
    assert "is_default" not in single
    with pytest.raises(ValidationError, match="exactly one shipping address must be the default"):
        BuyerProfileIn.model_validate({"shipping_addresses": [single]})
    assert BuyerProfileIn.model_validate({"shipping_addresses": [{**single, "is_default": True}]})


def test_the_readme_patch_example_changes_one_consent_flag_only() -> None:
    edit = BuyerProfilePatch.model_validate(example_bodies()[1]).as_edit()
    assert (edit.values, edit.cleared, edit.consents) == (
        {},
        frozenset(),
        {"share_email_with_merchant": True},
    )


@pytest.mark.parametrize("field", ["stripe_customer_id", "default_payment_method_id", "card"])
def test_a_payment_field_in_a_buyers_body_is_refused_naming_it_as_the_readme_says(field: str) -> None:
    stated = "set only by checkout-service (scope profiles:write), never by the buyer"
    assert stated in " ".join(README.read_text().split())
    for model in (BuyerProfileIn, BuyerProfilePatch):
        with pytest.raises(ValidationError) as refused:
            model.model_validate({**example_body(), field: None})
        assert [(e["loc"], stated in e["msg"]) for e in refused.value.errors()] == [((field,), True)]


def test_the_readme_checkout_examples_are_accepted_and_the_hint_is_what_it_shows() -> None:
    order_address, first_purchase = bodies_under("What checkout-service writes and reads at a purchase")
    OrderShippingIn.model_validate(order_address)
    patch = CheckoutProfilePatch.model_validate(first_purchase)
    edit = patch.edit_of({})
    assert sorted(edit.values) == [
        "card",
        "contact_email",
        "default_payment_method_id",
        "shipping_addresses",
        "stripe_customer_id",
    ]
    assert edit.consents == {"remember_me": True}
    shown = README.read_text().split("# the next Buy answer", 1)[1].split("```", 1)[0]
    answer = json.loads(" ".join(line.lstrip("# ") for line in shown.splitlines()[2:]))
    assert answer == {
        "card": first_purchase["card"],
        "ship_to": mask_address(edit.values["shipping_addresses"][0]),
        "has_payment_method": True,
    }
