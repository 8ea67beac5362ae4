"""The topic registry: the one declaration of every topic, used both by code (which topic an
event goes to, how it is keyed) and by provisioning (partitions, retention, compaction, DLQ).

Names follow ``<owner>.<stream>.v<N>``. A prefix (settings.topic_prefix) is prepended at run
time, so each test, or each tenant of a shared broker, gets its own set of topics.
"""

from __future__ import annotations

from dataclasses import dataclass

from buybutton.events import (
    BuyClicked,
    BuyerDataErased,
    BuyerProfileSaved,
    Event,
    MerchantProfileChanged,
    OrderCancelled,
    OrderForwarded,
    OrderFulfilled,
    OrderShipped,
    PaymentCaptured,
    PaymentFailed,
    PaymentRefunded,
    ProductPriceChanged,
    ProductRestocked,
    RolloutChanged,
    TweetWithProductPosted,
)

DAY_MS = 24 * 60 * 60 * 1000
KEEP_FOREVER = -1
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topic:
    name: str
    owner: str
    key: str
    events: tuple[type[Event], ...]
    partitions: int = 6
    retention_ms: int = 30 * DAY_MS
    compacted: bool = False
    consumed_by: tuple[str, ...] = ()
    description: str = ""

    def named(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}"

    def dlq_named(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}{DLQ_SUFFIX}"

    @property
    def has_dlq(self) -> bool:
        """Every consumed topic has a dead-letter topic beside it."""
        return bool(self.consumed_by)

    def configs(self) -> dict[str, str]:
        return {
            "cleanup.policy": "compact" if self.compacted else "delete",
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": "1",
        }


TWEETS = Topic(
    "tweet.tweets.v1",
    owner="tweet-service",
    key="tweet_id",
    events=(TweetWithProductPosted, ProductRestocked, ProductPriceChanged),
    retention_ms=KEEP_FOREVER,
    consumed_by=("checkout-service",),
    description="product tweets, their restocks and price changes, kept for analysts to replay",
)
MERCHANTS = Topic(
    "tweet.merchants.v1",
    owner="tweet-service",
    key="merchant_id",
    events=(MerchantProfileChanged,),
    partitions=3,
    retention_ms=KEEP_FOREVER,
    compacted=True,
    consumed_by=("checkout-service",),
    description="each merchant's selling terms (Stripe connected account, fee); the newest is in force",
)
ROLLOUT = Topic(
    "rollout.rules.v1",
    owner="rollout-service",
    key="rule_name",
    events=(RolloutChanged,),
    partitions=1,
    retention_ms=KEEP_FOREVER,
    compacted=True,
    consumed_by=("tweet-service", "checkout-service"),
    description="the gate's rules; the newest record per rule name is in force",
)
ROLLOUT_COMMANDS = Topic(
    "rollout.commands.v1",
    owner="rollout-service",
    key="rule_name",
    events=(),
    partitions=1,
    retention_ms=7 * DAY_MS,
    consumed_by=("rollout-service",),
    description="admins' changes to the gate's rules, applied in order to the rules table",
)
CHECKOUT = Topic(
    "checkout.orders.v1",
    owner="checkout-service",
    key="order_id",
    events=(BuyClicked, PaymentCaptured, PaymentFailed, OrderCancelled, PaymentRefunded),
    partitions=12,
    retention_ms=KEEP_FOREVER,
    consumed_by=("merchant-relay", "vault-service"),
    description="the life of each order up to payment, in order per order_id",
)
RELAY = Topic(
    "relay.deliveries.v1",
    owner="merchant-relay",
    key="order_id",
    events=(OrderForwarded, OrderShipped, OrderFulfilled),
    partitions=12,
    retention_ms=KEEP_FOREVER,
    description="what merchants received and reported back",
)
VAULT = Topic(
    "vault.buyers.v1",
    owner="vault-service",
    key="buyer_id",
    events=(BuyerProfileSaved, BuyerDataErased),
    consumed_by=("checkout-service",),
    description="that buyer data was saved or erased; never the data itself",
)

ALL_TOPICS: tuple[Topic, ...] = (TWEETS, MERCHANTS, ROLLOUT, ROLLOUT_COMMANDS, CHECKOUT, RELAY, VAULT)


@dataclass(frozen=True)
class MerchantOrdersTopic:
    """One topic per partner merchant, holding only that merchant's orders."""

    template: str = "merchant.{merchant_id}.orders.v1"
    owner: str = "merchant-relay"
    partitions: int = 3
    retention_ms: int = 14 * DAY_MS

    def for_merchant(self, merchant_id: str, prefix: str = "") -> str:
        return prefix + self.template.format(merchant_id=merchant_id)

    def configs(self) -> dict[str, str]:
        return {
            "cleanup.policy": "delete",
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": "1",
        }


MERCHANT_ORDERS = MerchantOrdersTopic()


def topic_for(event: Event | type[Event]) -> Topic:
    """The one topic an event type is written to."""
    event_type = event if isinstance(event, type) else type(event)
    for topic in ALL_TOPICS:
        if event_type in topic.events:
            return topic
    raise LookupError(f"{event_type.__name__} is not declared on any topic")
