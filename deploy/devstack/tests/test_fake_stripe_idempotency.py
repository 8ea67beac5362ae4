"""Idempotent requests on the fake Stripe server behave as Stripe documents them: the first
answer for a key is replayed, whatever the number of repeats and however they overlap, and
the money moves once; a reused key with other parameters is an error and charges nothing."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe
from fake_stripe_support import card_payment, stripe_client, wait_until

from devstack.fake_stripe.client import FakeStripeAdmin
from devstack.fake_stripe_fixtures import FakeStripeAccount

KEY = "order-raincoat-0001:payment"


def _statuses(admin: FakeStripeAdmin) -> Counter[object]:
    return Counter(r["status"] for r in admin.requests(limit=1000)["recent"] if r["method"] == "POST")


@pytest.mark.parametrize("deliveries", [2, 5, 20])
def test_sequential_repeats_replay_the_first_answer_and_charge_once(
    fake_stripe: FakeStripeAccount, deliveries: int
) -> None:
    client = stripe_client(fake_stripe)
    answers = [
        client.v1.payment_intents.create(card_payment(), {"idempotency_key": KEY}) for _ in range(deliveries)
    ]
    replayed = [a.last_response.headers.get("Idempotent-Replayed") for a in answers]  # type: ignore[union-attr]
    counted = fake_stripe.admin.charges()
    print(f"{deliveries} sequential: {len({a.id for a in answers})} PaymentIntent(s), "
          f"{counted['succeeded_charges']} charge(s), {replayed.count('true')} replays")  # fmt: skip
    assert len({a.id for a in answers}) == 1
    assert replayed == [None] + ["true"] * (deliveries - 1)
    assert (counted["succeeded_charges"], counted["amount_captured"]) == (1, 4999)
    assert fake_stripe.admin.requests()["replayed"] == deliveries - 1


@pytest.mark.parametrize("deliveries", [2, 5, 20])
def test_concurrent_repeats_execute_once_and_all_end_with_the_same_payment(
    fake_stripe: FakeStripeAccount, deliveries: int
) -> None:
    # whichever request holds the key executes 300 ms late, so the others arrive while it executes
    fake_stripe.admin.arm("delay_ms", path="/v1/payment_intents", delay_ms=300, count=None)
    client = stripe_client(fake_stripe, retries=8)
    with ThreadPoolExecutor(deliveries) as pool:
        answers = list(
            pool.map(
                lambda _: client.v1.payment_intents.create(card_payment(), {"idempotency_key": KEY}),
                range(deliveries),
            )
        )
    statuses = _statuses(fake_stripe.admin)
    counted = fake_stripe.admin.charges()
    print(f"{deliveries} concurrent: answers per status {dict(statuses)}, "
          f"{counted['succeeded_charges']} charge(s)")  # fmt: skip
    assert len({a.id for a in answers}) == 1
    assert counted["succeeded_charges"] == 1
    assert statuses[409] >= 1, "the repeats overlapped the first request"
    assert statuses[200] == deliveries and set(statuses) == {200, 409}


def test_a_repeat_while_the_first_executes_is_told_409_and_nothing_runs_twice(
    fake_stripe: FakeStripeAccount,
) -> None:
    # every request holds its key for 1.5 s once it has it; the one that has it makes the others wait
    fake_stripe.admin.arm("delay_ms", path="/v1/payment_intents", delay_ms=1500, count=None)
    client = stripe_client(fake_stripe)

    def pay() -> str:
        try:
            return client.v1.payment_intents.create(card_payment(), {"idempotency_key": KEY}).id
        except stripe.APIError as conflict:
            assert isinstance(conflict.json_body, dict)
            error = conflict.json_body["error"]
            return f"{conflict.http_status} {error['type']} {error['code']}"

    with ThreadPoolExecutor(5) as pool:
        first = pool.submit(pay)
        wait_until(lambda: bool(fake_stripe.admin.faults()["injected"]), what="the first request arrived")
        others = [pool.submit(pay) for _ in range(4)]
        outcomes = Counter([first.result(), *(other.result() for other in others)])
    print(f"outcomes: {dict(outcomes)}")
    paid = [outcome for outcome in outcomes if outcome.startswith("pi_")]
    assert len(paid) == 1 and outcomes[paid[0]] == 1
    assert outcomes["409 idempotency_error idempotency_key_in_use"] == 4
    fake_stripe.admin.clear_faults()
    assert client.v1.payment_intents.create(card_payment(), {"idempotency_key": KEY}).id == paid[0]
    assert fake_stripe.admin.charges()["succeeded_charges"] == 1


def test_the_same_key_with_another_amount_is_an_error_and_charges_nothing_more(
    fake_stripe: FakeStripeAccount,
) -> None:
    client = stripe_client(fake_stripe)
    first = client.v1.payment_intents.create(card_payment(), {"idempotency_key": KEY})
    with pytest.raises(stripe.IdempotencyError) as refused:
        client.v1.payment_intents.create(card_payment(amount=9999), {"idempotency_key": KEY})
    assert refused.value.http_status == 400
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"email": "ada@example.com"}, {"idempotency_key": KEY})
    counted = fake_stripe.admin.charges()
    assert (counted["succeeded_charges"], counted["amount_captured"]) == (1, 4999)
    assert list(counted["payment_intents"]) == [first.id]


def test_a_decline_is_replayed_as_a_decline(fake_stripe: FakeStripeAccount) -> None:
    client = stripe_client(fake_stripe)
    declined = []
    for _ in range(3):
        with pytest.raises(stripe.CardError) as error:
            client.v1.payment_intents.create(card_payment("pm_card_chargeDeclined"), {"idempotency_key": KEY})
        declined.append(error.value.error.payment_intent.id)  # type: ignore[union-attr]
    assert len(set(declined)) == 1
    assert fake_stripe.admin.charges()["failed_charges"] == 1


def test_a_request_refused_before_executing_saves_nothing_under_its_key(
    fake_stripe: FakeStripeAccount,
) -> None:
    client = stripe_client(fake_stripe)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.create(card_payment(amount=0), {"idempotency_key": KEY})
    paid = client.v1.payment_intents.create(card_payment(), {"idempotency_key": KEY})
    assert paid.status == "succeeded" and paid.last_response.headers.get("Idempotent-Replayed") is None  # type: ignore[union-attr]


def test_idempotency_keys_belong_to_one_secret_key(fake_stripe: FakeStripeAccount) -> None:
    other_key = f"{fake_stripe.api_key}_other"
    with FakeStripeAdmin(fake_stripe.url, other_key) as other_admin:
        try:
            ours = stripe_client(fake_stripe).v1.payment_intents.create(
                card_payment(), {"idempotency_key": KEY}
            )
            theirs = stripe_client(fake_stripe, api_key=other_key).v1.payment_intents.create(
                card_payment(), {"idempotency_key": KEY}
            )
            assert ours.id != theirs.id
            assert fake_stripe.admin.charges()["succeeded_charges"] == 1
            assert other_admin.charges()["succeeded_charges"] == 1
        finally:
            other_admin.reset()
