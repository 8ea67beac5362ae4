"""Schema-driven fuzzing of checkout-service (guarantee 16), running as a process with the vault,
the real broker and database server and the fake Stripe (shop_support.py), from its own OpenAPI
document, with tokens of the kind each route takes (buyer; the merchant or a refunds:write admin
for refunds) so that requests reach validation and the handlers:

- positive cases (path ids pinned: a held order of the buyer's own for cancel and confirm, a paid
  one for reading, following and refunding) and negative cases (extra fields, wrong types,
  negative or huge amounts, long strings) are answered without a server error; every operation
  succeeds in some positive case and refuses some negative one;
- every positive Buy is sent again with a price, fee, currency or merchant field of the
  buyer's choosing, and each of those is refused 422, creating nothing;
- the Stripe webhook: unsigned, forged or stale signatures over any body answer 400; bodies
  signed with the webhook secret answer 200 or 400, never 5xx;
- afterwards every stored order was priced by the server (amount = catalogue unit price x
  quantity, fee = Money.fee of the merchant's basis points), and each paid order's charge at the
  fake Stripe is that amount and fee.
The event stream (SSE) is fuzzed on a paid order, so it sends one event and ends; a read timeout
bounds it anyway. Some negative cases are schemathesis leaving out the headers this test adds
(``Authorization`` with ``Idempotency-Key``): those answer 401.
Figures: requests and 5xx per endpoint, tampered Buys, webhook cases, orders checked."""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from typing import Any

import httpx
import schemathesis
from checkout_support import PRICE, PUDDLE, RAINCOAT_TWEET
from fuzz_support import assert_each_operation_succeeds_and_refuses, fuzz_every_operation, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from shop_support import FIRST_ADDRESS, PAID_OR_LATER, Shop, ShopSetup, new_card_confirmation

from buybutton.money import Money
from devstack.fake_stripe.webhooks import signature_header

ADA = "buyer-ada-fuzz"
FEE_BPS = 500
FUZZ = fuzz_settings(25)
WEBHOOK = "/v1/stripe/webhook"
TAMPERED_FIELDS: list[dict[str, Any]] = [
    {"price": {"amount_minor": 1, "currency": "USD"}},
    {"unit_price": {"amount_minor": 0, "currency": "USD"}},
    {"amount": {"amount_minor": -4_999, "currency": "USD"}},
    {"amount_minor": 10**18},
    {"platform_fee": {"amount_minor": 0, "currency": "USD"}},
    {"fee_bps": 0},
    {"currency": "JPY"},
    {"merchant_id": "merchant-mallory"},
]


class CheckoutFuzz:
    """The shop under fuzzing: who calls each route, and which order each path points at."""

    def __init__(self, shop: Shop, paid_order_id: str) -> None:
        self.shop = shop
        self.paid_order_id = paid_order_id
        self.refunders = [shop.merchant(PUDDLE), shop.admin("refunds:write")]
        self.tampered = 0
        self.refunds_asked = 0

    def credentials(self, case: schemathesis.Case) -> dict[str, str]:
        if case.path.endswith("/refunds"):
            self.refunds_asked += 1  # the merchant and an admin take turns
            return self.refunders[self.refunds_asked % 2]
        if case.path == WEBHOOK:
            return {}
        return self.shop.buyer(ADA)

    def pin(self, case: schemathesis.Case) -> None:
        """Point a positive case at the buyer's own orders, so that it reaches the handler."""
        if case.path == "/v1/orders" and case.method == "POST" and isinstance(case.body, dict):
            case.body.update(tweet_id=RAINCOAT_TWEET, variant_id="raincoat-m")
        if "order_id" in (case.path_parameters or {}):
            if (
                case.path.endswith("/confirm")
                and isinstance(case.body, dict)
                and "payment_method" in case.body
            ):
                case.body["use_saved"] = False  # new details or one tap, never both (not in the schema)
                case.body.setdefault("shipping_address", FIRST_ADDRESS)
            if case.path.endswith(("/cancel", "/confirm")):
                case.path_parameters["order_id"] = self.held_order()
            else:
                case.path_parameters["order_id"] = self.paid_order_id

    def held_order(self) -> str:
        tapped = self.shop.tap(ADA, f"fuzz-held-{secrets.token_hex(6)}")
        assert tapped.status_code == 201, tapped.text
        return str(tapped.json()["order_id"])

    def tamper_with_buy(self, case: schemathesis.Case) -> None:
        """The same Buy with a field the server decides: refused, and no order for its key."""
        assert isinstance(case.body, dict)
        field = TAMPERED_FIELDS[self.tampered % len(TAMPERED_FIELDS)]
        key = f"fuzz-tampered-{self.tampered}"
        headers = {**self.shop.buyer(ADA), "Idempotency-Key": key}
        refused = self.shop.client.post("/v1/orders", json={**case.body, **field}, headers=headers)
        assert refused.status_code == 422, (field, refused.text)
        self.tampered += 1

    def call(self, case: schemathesis.Case, mode: GenerationMode) -> Any:
        if mode is GenerationMode.POSITIVE:
            self.pin(case)
        response = case.call(headers=self.credentials(case), timeout=20)
        case.validate_response(response, checks=[not_a_server_error])
        if mode is GenerationMode.POSITIVE and case.path == "/v1/orders" and case.method == "POST":
            self.tamper_with_buy(case)
        return response


def paid_order(shop: Shop) -> str:
    """Ten raincoats paid with the test Visa: refundable in many parts."""
    tapped = shop.tap(ADA, "fuzz-paid", quantity=10)
    assert tapped.status_code == 201, tapped.text
    order_id = str(tapped.json()["order_id"])
    assert shop.confirm(ADA, order_id, new_card_confirmation()).status_code == 202
    assert shop.wait_for(ADA, order_id, PAID_OR_LATER | {"failed"})["state"] == "paid"
    return order_id


signatures = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.builds(lambda t, v: f"t={t},v1={v}", st.integers(), st.text("0123456789abcdef", max_size=64)),
)
bodies = st.one_of(
    st.binary(max_size=2_000),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=50),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
        max_leaves=20,
    ).map(lambda value: json.dumps(value).encode()),
)


def stripe_events(order_ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Events shaped as Stripe sends them, with any type and any metadata.order_id."""
    order_id = st.one_of(st.sampled_from(order_ids), st.text(max_size=200), st.integers(), st.none())
    event_type = st.sampled_from(
        ["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded"]
    ) | st.text(max_size=60)
    return st.fixed_dictionaries(
        {
            "id": st.text(max_size=60).map(lambda s: f"evt_{s}"),
            "object": st.just("event"),
            "type": event_type,
            "data": st.fixed_dictionaries(
                {"object": st.fixed_dictionaries({"metadata": st.fixed_dictionaries({"order_id": order_id})})}
            ),
        }
    )


def fuzz_the_webhook(shop: Shop, order_ids: list[str]) -> Counter[tuple[str, int]]:
    """Unsigned and forged webhooks answer 400; signed ones 200 or 400; never a 5xx."""
    answered: Counter[tuple[str, int]] = Counter()
    secret = shop.webhook_secret

    @FUZZ
    @given(body=bodies, signature=signatures)
    def unsigned(body: bytes, signature: str | None) -> None:
        headers = {"Stripe-Signature": signature.encode()} if signature is not None else {}
        try:
            status = shop.client.post(WEBHOOK, content=body, headers=headers).status_code
        except httpx.LocalProtocolError:  # a header value no HTTP client sends: nothing reached checkout
            return
        answered[("unsigned", status)] += 1
        assert status == 400

    @FUZZ
    @given(body=bodies, age_s=st.sampled_from([0, 0, 3_600]))
    def signed_anything(body: bytes, age_s: int) -> None:
        text = body.decode(errors="replace")
        header = signature_header(text, secret, int(time.time()) - age_s)
        status = shop.client.post(
            WEBHOOK, content=text.encode(), headers={"Stripe-Signature": header}
        ).status_code
        answered[("signed body" if age_s == 0 else "stale", status)] += 1
        assert status in ((200, 400) if age_s == 0 else (400,))

    @FUZZ
    @given(event=stripe_events(order_ids))
    def signed_events(event: dict[str, Any]) -> None:
        payload = json.dumps(event)
        header = signature_header(payload, secret, int(time.time()))
        status = shop.client.post(WEBHOOK, content=payload, headers={"Stripe-Signature": header}).status_code
        answered[("signed event", status)] += 1
        assert status == 200

    for fuzz in (unsigned, signed_anything, signed_events):
        fuzz()
    return answered


def assert_every_order_priced_by_the_server(setup: ShopSetup, mongo_client: Any) -> Counter[str]:
    """Every stored order's price and fee as the server computes them; the charge of each paid
    one at the fake Stripe the same. Counts of orders by state."""
    orders = list(mongo_client[setup.config.checkout["CHECKOUT_MONGODB_DATABASE"]].orders.find())
    charged = setup.stripe.charges()["orders"]
    for order in orders:
        amount = PRICE.times(order["quantity"])
        assert Money(**order["unit_price"]) == PRICE, order
        assert Money(**order["amount"]) == amount, order
        assert (order["fee_bps"], order["merchant_id"]) == (FEE_BPS, PUDDLE), order
        assert Money(**order["platform_fee"]) == amount.fee(FEE_BPS), order
        if order["state"] in PAID_OR_LATER:
            paid_in = charged[order["_id"]]
            assert (paid_in["amount"], paid_in["application_fees"]) == (
                amount.amount_minor,
                amount.fee(FEE_BPS).amount_minor,
            )
    return Counter(str(order["state"]) for order in orders)


def test_checkout_answers_generated_requests_without_a_server_error(
    shop_setup: ShopSetup, mongo_client: Any
) -> None:
    started = time.monotonic()
    with shop_setup.open(stock_m=5_000, fee_bps=FEE_BPS) as shop:
        fuzz = CheckoutFuzz(shop, paid_order(shop))
        schema = schemathesis.openapi.from_url(f"{shop.client.base_url}/openapi.json")
        statuses = fuzz_every_operation(schema, fuzz.call, fuzz=FUZZ)
        webhook = fuzz_the_webhook(shop, [fuzz.paid_order_id])
        stored = assert_every_order_priced_by_the_server(shop_setup, mongo_client)

    per_endpoint: dict[str, Counter[str]] = {}
    for (operation, _), answered in statuses.items():
        figures = per_endpoint.setdefault(operation, Counter())
        figures["requests"] += sum(answered.values())
        figures["5xx"] += sum(n for status, n in answered.items() if status >= 500)
    for (operation, mode), answered in sorted(statuses.items()):
        print(f"  {operation} {mode.value}: {dict(sorted(answered.items()))}")
    for operation, figures in sorted(per_endpoint.items()):
        print(f"{operation}: {figures['requests']} requests, {figures['5xx']} 5xx")
    print(f"{WEBHOOK} (hand-made cases): {dict(sorted(webhook.items()))}")
    print(
        f"tampered Buys refused: {fuzz.tampered} of {fuzz.tampered}; orders checked by state: {dict(stored)}"
    )
    print(f"fuzzing took {time.monotonic() - started:.1f} s")
    assert fuzz.tampered > 0 and stored["paid"] + stored["refunded"] > 0 and stored.total() > 1
    assert sum(figures["5xx"] for figures in per_endpoint.values()) == 0
    assert not any(status >= 500 for (_, status) in webhook)
    assert webhook[("signed event", 200)] > 0 and webhook[("unsigned", 400)] > 0
    from_the_schema = {k: v for k, v in statuses.items() if k[0] != f"POST {WEBHOOK}"}  # unsigned: 400
    assert_each_operation_succeeds_and_refuses(from_the_schema, never_refused={"GET /healthz"})
