"""The topic registry: the one declaration of every topic, used both by code (which topic an
event goes to, how it is keyed) and by provisioning (partitions, retention, compaction, the
dead-letter and retry topics of each consumer group).

Names follow ``<owner>.<stream>.v<N>``. Each consumer group named in ``consumed_by`` gets two
topics of its own beside a topic: ``<topic>.<group>.dlq`` for the records it could not handle
and ``<topic>.<group>.retry``, which only that group reads, for the dead letters replayed to it.
A prefix (settings.topic_prefix) is prepended at run time, so each test, or each tenant of a
shared broker, gets its own set of topics.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    ProductPriceChanged,
    ProductRestocked,
    RefundRequested,
    RolloutChanged,
    StockAvailabilityChanged,
    TweetWithProductPosted,
)

PAYMENTS_GROUP = "checkout-service-payments"  # checkout's payment worker, its own consumer group
MERCHANT_STATS_GROUP = "merchant-relay-stats"  # the relay's statistics table (a faust app), its own group
DAY_MS = 24 * 60 * 60 * 1000
KEEP_FOREVER = -1
DLQ_SUFFIX = ".dlq"
RETRY_SUFFIX = ".retry"


def dlq_name(topic_name: str, group: str) -> str:
    """The dead-letter topic of ``group`` for ``topic_name`` (a name with its prefix)."""
    return f"{topic_name}.{group}{DLQ_SUFFIX}"


def retry_name(topic_name: str, group: str) -> str:
    """The topic only ``group`` reads its replayed dead letters of ``topic_name`` from."""
    return f"{topic_name}.{group}{RETRY_SUFFIX}"


def min_insync_replicas(replication_factor: int) -> int:
    """Replicas that must hold a write before acks=all answers it. From three replicas on, all
    but one: every acknowledged write is on at least two brokers, and one broker may be down
    without stopping writes. With one or two replicas, one (at two, requiring both would stop
    every write while either broker restarts)."""
    return replication_factor - 1 if replication_factor >= 3 else 1


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

    def dlq_named(self, prefix: str, group: str) -> str:
        return dlq_name(self.named(prefix), group)

    def retry_named(self, prefix: str, group: str) -> str:
        return retry_name(self.named(prefix), group)

    def configs(self, replication_factor: int = 1) -> dict[str, str]:
        return {
            "cleanup.policy": "compact" if self.compacted else "delete",
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": str(min_insync_replicas(replication_factor)),
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
    events=(
        BuyClicked,
        OrderConfirmed,
        PaymentActionRequired,
        PaymentCheckRequested,
        PaymentCaptured,
        PaymentFailed,
        OrderCancelled,
        RefundRequested,
        PaymentRefunded,
    ),
    partitions=12,
    retention_ms=KEEP_FOREVER,
    consumed_by=(PAYMENTS_GROUP, "merchant-relay", "vault-service"),
    description="the life of each order up to payment, in order per order_id",
)
STOCK = Topic(
    "checkout.stock.v1",
    owner="checkout-service",
    key="tweet_id",
    events=(StockAvailabilityChanged,),
    partitions=6,
    retention_ms=KEEP_FOREVER,
    consumed_by=("tweet-service",),
    description="which variants checkout can no longer sell (sold out) or can again, per tweet",
)
RELAY = Topic(
    "relay.deliveries.v1",
    owner="merchant-relay",
    key="order_id",
    events=(OrderForwarded, OrderShipped, OrderFulfilled),
    partitions=12,
    retention_ms=KEEP_FOREVER,
    consumed_by=("checkout-service",),
    description="what merchants received and reported back",
)
MERCHANT_ACTIVITY = Topic(
    "relay.merchant-activity.v1",
    owner="merchant-relay",
    key="merchant_id",
    events=(MerchantDeliveryChanged,),
    partitions=6,
    retention_ms=KEEP_FOREVER,
    consumed_by=(MERCHANT_STATS_GROUP,),
    description="how each delivery to a merchant stands, in order per merchant: the statistics' input",
)
MERCHANT_STATS = Topic(
    "relay.merchant-stats.v1",
    owner="merchant-relay",
    key="merchant_id",
    events=(),
    partitions=MERCHANT_ACTIVITY.partitions,  # the table's changelog: partitioned as its input
    retention_ms=KEEP_FOREVER,
    compacted=True,
    consumed_by=("merchant-relay",),
    description="each merchant's delivery statistics (the stats table's changelog; the newest is current)",
)
VAULT = Topic(
    "vault.buyers.v1",
    owner="vault-service",
    key="buyer_id",
    events=(BuyerProfileSaved, BuyerDataErased),
    consumed_by=("checkout-service",),
    description="that buyer data was saved or erased; never the data itself",
)

ALL_TOPICS: tuple[Topic, ...] = (
    TWEETS,
    MERCHANTS,
    ROLLOUT,
    ROLLOUT_COMMANDS,
    CHECKOUT,
    STOCK,
    RELAY,
    MERCHANT_ACTIVITY,
    MERCHANT_STATS,
    VAULT,
)


@dataclass(frozen=True)
class MerchantOrdersTopic:
    """One topic per partner merchant, holding only that merchant's orders."""

    template: str = "merchant.{merchant_id}.orders.v1"
    owner: str = "merchant-relay"
    partitions: int = 3
    retention_ms: int = 14 * DAY_MS

    def for_merchant(self, merchant_id: str, prefix: str = "") -> str:
        return prefix + self.template.format(merchant_id=merchant_id)

    def configs(self, replication_factor: int = 1) -> dict[str, str]:
        return {
            "cleanup.policy": "delete",
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": str(min_insync_replicas(replication_factor)),
        }


MERCHANT_ORDERS = MerchantOrdersTopic()


def topic_for(event: Event | type[Event]) -> Topic:
    """The one topic an event type is written to."""
    event_type = event if isinstance(event, type) else type(event)
    for topic in ALL_TOPICS:
        if event_type in topic.events:
            return topic
    raise LookupError(f"{event_type.__name__} is not declared on any topic")


def topic_named(name: str) -> Topic:
    """The registry topic called ``name`` (without a prefix)."""
    for topic in ALL_TOPICS:
        if topic.name == name:
            return topic
    raise LookupError(f"{name} is not a registry topic")
