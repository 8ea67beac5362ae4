"""Property: any product a merchant may post (generated: titles and descriptions in any script,
prices in every known currency, physical or digital, one to five variants with attributes and
stock) is accepted, answered exactly as sent, and shown to buyers with the same card, their
sold-out state, no stock counts, and the Buy button the gate decides."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tweet_support import PUDDLE, api_key, buyer

from buybutton.auth import TokenIssuer
from buybutton.inputs import find_card_data
from buybutton.money import known_currencies

PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))


def text(max_size: int) -> st.SearchStrategy[str]:
    """Non-blank text as the API keeps it (trimmed), never shaped like card data."""
    return (
        st.text(PRINTABLE, min_size=1, max_size=max_size)
        .map(str.strip)
        .filter(lambda t: bool(t) and find_card_data(t) is None)
    )


skus = st.from_regex(r"[A-Za-z0-9_-]{1,24}", fullmatch=True)
variants = st.lists(
    st.fixed_dictionaries(
        {
            "sku": skus,
            "attributes": st.dictionaries(
                st.from_regex(r"[A-Za-z][A-Za-z ]{0,14}[A-Za-z]", fullmatch=True), text(30), max_size=3
            ),
            "stock": st.integers(0, 1_000_000),
        }
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda v: v["sku"],
)
products = st.fixed_dictionaries(
    {
        "title": text(140),
        "description": text(400),
        "price": st.fixed_dictionaries(
            {
                "amount_minor": st.integers(1, 100_000_000),
                "currency": st.sampled_from(sorted(known_currencies())),
            }
        ),
        "image_urls": st.lists(
            skus.map(lambda n: f"https://img.example.com/{n}.jpg"), min_size=1, max_size=3
        ),
        "kind": st.sampled_from(["physical", "digital"]),
        "variants": variants,
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(product=products)
def test_any_valid_product_is_posted_and_shown_exactly_as_sent(
    client: TestClient, puddle_key: str, issuer: TokenIssuer, product: dict[str, Any]
) -> None:
    posted = client.post(
        f"/v1/merchants/{PUDDLE}/tweets",
        headers=api_key(puddle_key),
        json={"text": "New in.", "product": product},
    )
    assert posted.status_code == 201, posted.text
    card = posted.json()["product"]
    sent_variants = [
        {
            "variant_id": v["sku"],
            "attributes": v["attributes"],
            "stock": v["stock"],
            "sold_out": v["stock"] == 0,
            "checkout_sold_out": False,  # checkout has said nothing about a new tweet yet
        }
        for v in product["variants"]
    ]
    same_fields = ("title", "description", "price", "image_urls", "kind")
    assert {k: card[k] for k in same_fields} == {k: product[k] for k in same_fields}
    assert card["variants"] == sent_variants
    assert card["sold_out"] == all(v["stock"] == 0 for v in product["variants"])

    shown = client.get(f"/v1/tweets/{posted.json()['tweet_id']}", headers=buyer(issuer)).json()
    assert shown["buy_button"] is True  # 100 % of US buyers, seller allow-listed
    assert shown["product"]["variants"] == [
        {k: v for k, v in s.items() if k not in ("stock", "checkout_sold_out")} for s in sent_variants
    ]
    assert {k: shown["product"][k] for k in same_fields} == {k: product[k] for k in same_fields}
