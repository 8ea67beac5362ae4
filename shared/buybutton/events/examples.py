"""One memorable, valid instance of every published event (a yellow raincoat sold by
Puddle & Co. to buyer Ada): for documentation, round trips, and consumers' contract tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from buybutton.events import (
    BuyClicked,
    BuyerDataErased,
    BuyerProfileSaved,
    Event,
    MerchantDeliveryChanged,
    MerchantProfileChanged,
    OrderCancelled,
    OrderConfirmed,
    OrderForwarded,
    OrderFulfilled,
    OrderShipped,
    PaymentActionRequired,
    PaymentCaptured,
    PaymentCheckRequested,
    PaymentFailed,
    PaymentRefunded,
    Product,
    ProductPriceChanged,
    ProductRestocked,
    RefundRequested,
    RolloutChanged,
    StockAvailabilityChanged,
    TweetWithProductPosted,
    Variant,
)
from buybutton.money import Money

ORDER = "order-raincoat-0001"
TWEET = "tweet-raincoat-launch"
MERCHANT = "merchant-puddle-and-co"
BUYER = "buyer-ada"
PRICE = Money(amount_minor=4_999, currency="USD")


def sample_events() -> list[Event]:
    order = {"order_id": ORDER, "correlation_id": ORDER, "producer": "checkout-service"}
    relay = {**order, "producer": "merchant-relay", "merchant_id": MERCHANT}
    return [
        TweetWithProductPosted(
            tweet_id=TWEET,
            correlation_id=TWEET,
            producer="tweet-service",
            merchant_id=MERCHANT,
            text="Stay dry in style: the Puddle raincoat, now buyable right here.",
            product=Product(
                product_id="product-raincoat",
                title="Puddle raincoat",
                description="Yellow.",
                price=PRICE,
                image_urls=["https://img.example.com/raincoat.jpg"],
                kind="physical",
                variants=[Variant(variant_id="raincoat-m", attributes={"size": "M"}, stock=12)],
            ),
        ),
        ProductRestocked(
            tweet_id=TWEET,
            correlation_id=TWEET,
            producer="tweet-service",
            merchant_id=MERCHANT,
            product_id="product-raincoat",
            variant_id="raincoat-m",
            units_added=24,
        ),
        ProductPriceChanged(
            tweet_id=TWEET,
            correlation_id=TWEET,
            producer="tweet-service",
            merchant_id=MERCHANT,
            product_id="product-raincoat",
            price=Money(amount_minor=3_999, currency="USD"),
            previous_price=PRICE,
        ),
        MerchantProfileChanged(
            merchant_id=MERCHANT,
            correlation_id=MERCHANT,
            producer="tweet-service",
            name="Puddle & Co.",
            stripe_account_id="acct_1Puddle",
            fee_bps=500,
        ),
        BuyClicked(
            **order,
            tweet_id=TWEET,
            merchant_id=MERCHANT,
            buyer_id=BUYER,
            product_id="product-raincoat",
            variant_id="raincoat-m",
            quantity=1,
            amount=PRICE,
            hold_expires_at=datetime.now(UTC) + timedelta(minutes=15),
        ),
        OrderConfirmed(**order, merchant_id=MERCHANT, buyer_id=BUYER, amount=PRICE, uses_saved_profile=False),
        PaymentActionRequired(**order, merchant_id=MERCHANT, payment_reference="pi_123"),
        PaymentCheckRequested(
            **order, merchant_id=MERCHANT, reason="stripe_webhook", stripe_event_id="evt_123"
        ),
        PaymentCaptured(
            **order,
            merchant_id=MERCHANT,
            buyer_id=BUYER,
            amount=PRICE,
            platform_fee=PRICE.fee(250),
            fee_bps=250,
            payment_reference="pi_123",
            payout=PRICE.minus(PRICE.fee(250)),
        ),
        PaymentFailed(**order, merchant_id=MERCHANT, buyer_id=BUYER, failure_code="card_declined"),
        OrderCancelled(**order, merchant_id=MERCHANT, reason="hold_expired", released_quantity=1),
        RefundRequested(
            **order,
            merchant_id=MERCHANT,
            refund_id="rf_123",
            amount=PRICE,
            requested_by="merchant",
            reason="requested_by_customer",
        ),
        PaymentRefunded(
            **order,
            merchant_id=MERCHANT,
            amount=PRICE,
            refund_reference="re_123",
            reason="requested_by_customer",
        ),
        StockAvailabilityChanged(
            tweet_id=TWEET,
            correlation_id=TWEET,
            producer="checkout-service",
            variant_id="raincoat-m",
            sold_out=True,
        ),
        OrderForwarded(**relay, channels=["topic", "webhook"]),
        OrderShipped(**relay, carrier="UPS", tracking_number="1Z999AA10123456784"),
        OrderFulfilled(**relay, delivery_reference="download-link-sent"),
        MerchantDeliveryChanged(
            **relay,
            delivery_id="msg_" + "0f" * 16,
            kind="order.paid",
            previous=None,
            standing="failing",
            forwarded=True,
            amount=PRICE,
            payout=PRICE.minus(PRICE.fee(500)),
        ),
        RolloutChanged(
            rule_name="buy-button",
            correlation_id="buy-button",
            producer="rollout-service",
            countries=["US"],
            percentage_bps=100,
            allowed_sellers=[MERCHANT],
            salt="2014-09-08",
            changed_by="admin-grace",
        ),
        BuyerProfileSaved(
            buyer_id=BUYER,
            correlation_id=BUYER,
            producer="vault-service",
            fields_saved=["shipping_address", "email"],
            key_version=1,
        ),
        BuyerDataErased(buyer_id=BUYER, correlation_id=BUYER, producer="vault-service"),
    ]
