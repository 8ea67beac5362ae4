"""The checks of the two-instance test (test_two_instances.py), once every relay is idle: each
topic read to its end against the stored state and against what the services accepted.

``Findings`` gathers a figure per topic (events expected and read, lost, duplicates, forks,
order violations, keys whose last record is not their newest) and every comparison of stored
state, answers and newest events that did not hold.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from faults_support import (
    ReadEvent,
    judge,
    keys_whose_last_record_is_not_the_newest,
    newest_per_key,
    sequences_up_to,
)
from two_instances_load import STARTING_STOCK, Accepted

from buybutton.events import MerchantProfileChanged, ProductPriceChanged, ProductRestocked
from buybutton.topics import MERCHANTS, ROLLOUT, TWEETS, VAULT


@dataclass
class Findings:
    figures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    comparisons: int = 0

    def topic(self, name: str, read: list[ReadEvent], highest: dict[str, int]) -> None:
        """Every stored sequence number of every key on the topic, in order, newest last."""
        verdict = judge(read, sequences_up_to(highest))
        stale_last = keys_whose_last_record_is_not_the_newest(read)
        self.figures.append(
            f"{name}: {verdict.summary}, keys whose last record is not the newest {len(stale_last)}"
        )
        if verdict.lost or verdict.forks or verdict.order_violations or verdict.unexpected or stale_last:
            self.problems.append(f"{name}: {verdict.summary}; last record stale for {stale_last[:3]}")

    def expect(self, what: str, found: object, wanted: object) -> None:
        self.comparisons += 1
        if found != wanted:
            self.problems.append(f"{what}: found {found!r}, expected {wanted!r}")


def distinct(read: list[ReadEvent]) -> list[ReadEvent]:
    return list({item.event.event_id: item for item in read}.values())


def check_tweets(findings: Findings, read: list[ReadEvent], stored: dict[str, Any], done: Accepted) -> None:
    findings.topic(TWEETS.name, read, {t: d["sequence"] for t, d in stored.items()})
    findings.expect(
        "stored sequence of each tweet (posted + restocks + price changes answered)",
        {t: d["sequence"] for t, d in stored.items()},
        {t: 1 + done.restocks[t] + done.price_changes[t] for t in stored},
    )
    units_read, price_changes_read, newest_price = Counter[str](), Counter[str](), {}
    for item in sorted(distinct(read), key=lambda i: i.sequence):
        if isinstance(item.event, ProductRestocked):
            units_read[item.key] += item.event.units_added
        elif isinstance(item.event, ProductPriceChanged):
            price_changes_read[item.key] += 1
            newest_price[item.key] = item.event.price.amount_minor
    units_stored = Counter(
        {t: d["product"]["variants"][0]["stock"] - STARTING_STOCK for t, d in stored.items()}
    )
    findings.expect("restocked units stored / answered", +units_stored, +done.restocked)
    findings.expect("restocked units on the topic / answered", +units_read, +done.restocked)
    findings.expect("price changes on the topic / answered", +price_changes_read, +done.price_changes)
    stored_prices = {t: d["product"]["price"]["amount_minor"] for t, d in stored.items() if t in newest_price}
    findings.expect("stored price / newest price on the topic", stored_prices, newest_price)


def check_merchants(
    findings: Findings, read: list[ReadEvent], stored: dict[str, Any], done: Accepted
) -> None:
    findings.topic(MERCHANTS.name, read, {m: d["sequence"] for m, d in stored.items()})
    findings.expect(
        "stored sequence of each merchant (registered + updates answered)",
        {m: d["sequence"] for m, d in stored.items()},
        {m: 1 + done.merchant_updates[m] for m in stored},
    )
    terms = ("name", "fee_bps", "stripe_account_id")
    newest = {
        k: i.event for k, i in newest_per_key(read).items() if isinstance(i.event, MerchantProfileChanged)
    }
    findings.expect(
        "stored terms / newest terms on the compacted topic",
        {m: [d[t] for t in terms] for m, d in stored.items()},
        {m: [getattr(e, t) for t in terms] for m, e in newest.items()},
    )


def check_profiles(
    findings: Findings,
    read: list[ReadEvent],
    stored: dict[str, Any],
    shown: dict[str, list[str]],
    done: Accepted,
) -> None:
    findings.topic(VAULT.name, read, {b: d["sequence"] for b, d in stored.items()})
    findings.expect(
        "stored sequence of each buyer / saves answered",
        {b: d["sequence"] for b, d in stored.items()},
        dict(done.saves),
    )
    for buyer, recipients in shown.items():
        findings.expect(f"{buyer}: instances showing the same recipient", len(set(recipients)), 1)
        findings.expect(
            f"{buyer}: recipient shown {recipients[0]!r} among last saves",
            recipients[0] in done.last_saves[buyer],
            True,
        )


def check_rules(
    findings: Findings, read: list[ReadEvent], in_force: dict[str, list[dict[str, Any]]], done: Accepted
) -> None:
    newest = newest_per_key(read)
    findings.topic(ROLLOUT.name, read, {rule: item.sequence for rule, item in newest.items()})
    caused = defaultdict(set)
    for item in distinct(read):
        caused[item.key].add(item.event.causation_id)
    findings.expect(
        "commands behind the events on the topic / changes accepted", dict(caused), dict(done.rule_commands)
    )
    findings.expect(
        "rule in force on each instance / newest event on the compacted topic",
        {rule: [answer["version"] for answer in answers] for rule, answers in in_force.items()},
        {rule: [newest[rule].event.event_id] * len(answers) for rule, answers in in_force.items()},
    )
