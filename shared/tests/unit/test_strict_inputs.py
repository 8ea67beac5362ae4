"""Card data is refused wherever it hides in a request body: in a value, a nested value, a
field named like a card field, or a mapping key; the location given never repeats the number,
nor a mapping key that is not shaped like a field name."""

from __future__ import annotations

import pytest

from buybutton.inputs import find_card_data

CARD = "4242424242424242"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"note": f"pay with {CARD}"}, "note"),
        ({"product": {"variants": [{"sku": "a", "colour": CARD}]}}, "product.variants[0].colour"),
        ({"product": {"attributes": {CARD: "blue"}}}, "product.attributes.<a key>"),
        ({CARD: {CARD: CARD}}, "<a key>"),
        ({"address": {"line1": "Apt 5 4242424242424242"}}, "address.line1"),
        ({"name": "5555555555554444 7"}, "name"),
        ({"note": "amex 378282246310005 1234"}, "note"),
        ({"title": "4242.4242.4242.4242"}, "title"),
        ({"city": "4242\u00a04242\u200b4242\u20094242"}, "city"),
        ({"attributes": {"Ada's flat, 12 Baker St": CARD}}, "attributes.<a key>"),
        ({"cvc": "123"}, "cvc"),
        ({"amount": int(CARD)}, "amount"),
    ],
)
def test_card_data_is_found_and_its_location_never_repeats_it(body: object, where: str) -> None:
    found = find_card_data(body)
    assert found == where
    assert CARD not in found


@pytest.mark.parametrize(
    "body",
    [
        {"size": "M"},
        {"phone_model": "4242"},
        {"sku": "raincoat-m"},
        ["12345"],
        {"line1": "221B Baker Street", "phone": "(415) 555-0132", "postal_code": "94103-1234"},
        {"order": "#A-1042", "on": "2024-05-17 14:30", "total": "$1,299.99"},
    ],
)
def test_ordinary_data_passes(body: object) -> None:
    assert find_card_data(body) is None
