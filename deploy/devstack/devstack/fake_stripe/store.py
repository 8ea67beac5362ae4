"""The fake's memory: one ``Account`` per secret key, holding Stripe-shaped objects.

Objects are kept as the JSON Stripe would return (``object``, ``id``, ...) and copied on the
way out, so a caller never holds a live reference. What Stripe knows but does not show (which
test card a ``pm_...`` stands for, which PaymentIntents the buyer authenticated) sits beside
them. One re-entrant lock guards it all: every operation runs whole under it, so concurrent
requests (threads or tasks) see each other's changes entirely or not at all. Nothing is
written to disk; a restart starts empty.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from devstack.fake_stripe.catalogue import CardBehaviour
from devstack.fake_stripe.errors import JSON, resource_missing


@dataclass
class Account:
    api_key: str
    customers: dict[str, JSON] = field(default_factory=dict)
    payment_methods: dict[str, JSON] = field(default_factory=dict)
    card_behaviour: dict[str, CardBehaviour] = field(default_factory=dict)
    payment_intents: dict[str, JSON] = field(default_factory=dict)
    authenticated: set[str] = field(default_factory=set)
    charges: dict[str, JSON] = field(default_factory=dict)
    refunds: dict[str, JSON] = field(default_factory=dict)
    events: dict[str, JSON] = field(default_factory=dict)

    def get(self, collection: dict[str, JSON], kind: str, object_id: str, *, param: str = "id") -> JSON:
        found = collection.get(object_id)
        if found is None:
            raise resource_missing(kind, object_id, param=param)
        return found

    def active_customer(self, customer_id: str, *, param: str = "customer") -> JSON:
        found = self.customers.get(customer_id)
        if found is None or found.get("deleted"):
            raise resource_missing("customer", customer_id, param=param)
        return found

    def expanded(self, obj: JSON, paths: Iterable[str]) -> JSON:
        """A copy of ``obj`` with the named id fields (first level) replaced by their objects."""
        result = copy.deepcopy(obj)
        collections = {
            "customer": self.customers,
            "payment_method": self.payment_methods,
            "latest_charge": self.charges,
            "charge": self.charges,
            "payment_intent": self.payment_intents,
        }
        for path in paths:
            name = path.split(".", 1)[0]
            value = result.get(name)
            if isinstance(value, str) and name in collections and value in collections[name]:
                result[name] = copy.deepcopy(collections[name][value])
        return result


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._accounts: dict[str, Account] = {}

    def account(self, api_key: str) -> Account:
        with self.lock:
            return self._accounts.setdefault(api_key, Account(api_key))

    def accounts(self, api_key: str | None = None) -> list[Account]:
        with self.lock:
            if api_key is None:
                return list(self._accounts.values())
            found = self._accounts.get(api_key)
            return [found] if found is not None else []

    def owner_of_payment_intent(self, payment_intent_id: str) -> Account | None:
        with self.lock:
            for account in self._accounts.values():
                if payment_intent_id in account.payment_intents:
                    return account
            return None

    def reset(self, api_key: str | None = None) -> None:
        with self.lock:
            if api_key is None:
                self._accounts.clear()
            else:
                self._accounts.pop(api_key, None)
