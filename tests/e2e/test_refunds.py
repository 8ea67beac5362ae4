"""Refunds end to end: a paid order refunded in part by its merchant, with a merchant token
signed by a tweet-service-like issuer that checkout trusts for merchants alone
(AUTH_TRUSTED_ISSUERS), then the rest by a platform admin with ``refunds:write``; through
checkout-service as a process, the real broker and database server, and the fake Stripe.

What must hold: the fake's charge shows the refunded amount, PaymentRefunded carries each
amount, the order ends ``refunded``; a request repeated with the same Idempotency-Key refunds
once; more than is left → 409; another merchant → 404, an admin without the scope → 403, a
merchant token signed by a key nobody trusts → 401.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from checkout_support import GALOSH, PRICE, PUDDLE
from shop_support import ENDED, Shop, ShopSetup, new_card_confirmation

from buybutton.auth import TokenIssuer
from buybutton.events import PaymentRefunded
from devstack.identity import TrustedSigner

RUTH = "buyer-ruth-returns"
PARTIAL = 1_500


def bearer(issuer: TokenIssuer, merchant_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.mint('merchant', merchant_id, audience='checkout-service')}"}


def refund(
    shop: Shop, order_id: str, key: str, headers: dict[str, str], amount_minor: int | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"reason": "the hood tore on the first rainy day"}
    if amount_minor is not None:
        body["amount_minor"] = amount_minor
    return shop.client.post(
        f"/v1/orders/{order_id}/refunds", json=body, headers={**headers, "Idempotency-Key": key}
    )


def wait_refunded(shop: Shop, order_id: str, amount_minor: int, timeout_s: float = 30) -> dict[str, Any]:
    """Until the order shows ``amount_minor`` refunded (the payment worker refunds at Stripe)."""
    deadline = time.monotonic() + timeout_s
    while (order := shop.order(RUTH, order_id))["refunded"]["amount_minor"] != amount_minor:
        assert time.monotonic() < deadline, f"refunded {order['refunded']}, not {amount_minor}"
        time.sleep(0.2)
    return order


def test_merchant_then_admin_refund_the_whole_order(
    shop_setup: ShopSetup, trusted_signer: Callable[..., TrustedSigner]
) -> None:
    tweet_service = trusted_signer("tweet-service", kinds=["merchant"])
    impostor = trusted_signer("tweet-service", kinds=["merchant"])  # same name, a key nobody trusts
    puddle, galosh = bearer(tweet_service.issuer, PUDDLE), bearer(tweet_service.issuer, GALOSH)
    with shop_setup.with_checkout(AUTH_TRUSTED_ISSUERS=tweet_service.setting).open() as shop:
        order_id = shop.tap(RUTH, "ruth-tap").json()["order_id"]
        assert shop.confirm(RUTH, order_id, new_card_confirmation()).status_code == 202
        assert shop.wait_for(RUTH, order_id, ENDED)["state"] == "paid"

        before_paid_refund = {
            "another merchant": refund(shop, order_id, "galosh-1", galosh, PARTIAL).status_code,
            "untrusted key": refund(shop, order_id, "fake-1", bearer(impostor.issuer, PUDDLE)).status_code,
            "admin without scope": refund(shop, order_id, "adm-0", shop.admin("orders:read")).status_code,
        }
        partial = refund(shop, order_id, "puddle-1", puddle, PARTIAL)
        again = refund(shop, order_id, "puddle-1", puddle, PARTIAL)
        assert partial.status_code == 202 and again.status_code == 202, (partial.text, again.text)
        wait_refunded(shop, order_id, PARTIAL)
        too_much = refund(shop, order_id, "adm-1", shop.admin("refunds:write"), PRICE.amount_minor)
        rest = refund(shop, order_id, "adm-2", shop.admin("refunds:write"))
        assert rest.status_code == 202, rest.text
        final = wait_refunded(shop, order_id, PRICE.amount_minor)
        replayed = refund(shop, order_id, "puddle-1", puddle, PARTIAL)
        nothing_left = refund(shop, order_id, "adm-3", shop.admin("refunds:write"))
        events = shop_setup.events(PaymentRefunded, lambda found: len(found) >= 2)
        charge = shop.stripe.charges()["orders"][order_id]
    amounts = sorted(e.amount.amount_minor for e in events)
    by_merchant, by_admin = partial.json()["amount"]["amount_minor"], rest.json()["amount"]["amount_minor"]
    print(
        f"\n[refunds] paid {PRICE.amount_minor}; refunded by the merchant {by_merchant} (asked twice),"
        f" by the admin {by_admin}; PaymentRefunded {amounts};"
        f" the fake: refunded {charge['amount_refunded']} in {charge['refunds']} refund(s); refused:"
        f" {before_paid_refund}, over-refund {too_much.status_code}, after all {nothing_left.status_code},"
        f" the first key once more {replayed.status_code}"
    )
    assert before_paid_refund == {"another merchant": 404, "untrusted key": 401, "admin without scope": 403}
    assert partial.json()["refund_id"] == again.json()["refund_id"] == replayed.json()["refund_id"]
    assert (too_much.status_code, nothing_left.status_code) == (409, 409)
    assert (by_merchant, by_admin) == (PARTIAL, PRICE.amount_minor - PARTIAL)
    assert amounts == sorted([PARTIAL, PRICE.amount_minor - PARTIAL])
    assert {e.order_id for e in events} == {order_id} and all(e.merchant_id == PUDDLE for e in events)
    assert (charge["amount_refunded"], charge["refunds"]) == (PRICE.amount_minor, 2)
    assert final["state"] == "refunded"
