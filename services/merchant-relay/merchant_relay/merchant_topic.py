"""Publishes the merchant's copy to its own topic, ``merchant.<merchant_id>.orders.v1`` (behind
the settings' prefix), keyed by order_id, on the platform's listener; merchants read it with
credentials of their own.

The topic is created on first use (provisioned as the registry's MerchantOrdersTopic declares:
partitions, retention, min.insync.replicas), once per merchant per process. Each record carries
the body the webhook carries and the headers ``webhook-id`` (the delivery's stable id: a record
published again after a crash has the same one, so consumers deduplicate by it) and ``type``.
A publish is bounded by ``timeout_s``; a failure is raised to the caller, which retries the
delivery.
"""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient

from buybutton.kafka.producer import EventPublisher
from buybutton.kafka.provision import merchant_spec, provision


class MerchantTopics:
    def __init__(
        self,
        publisher: EventPublisher,
        bootstrap_servers: str,
        *,
        prefix: str,
        replication_factor: int,
        timeout_s: float,
    ) -> None:
        self.publisher = publisher
        self.prefix = prefix
        self.replication_factor = replication_factor
        self.timeout_s = timeout_s
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers, client_id="merchant-relay-topics"
        )
        self._provisioned: set[str] = set()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self._admin.start()

    async def stop(self) -> None:
        await self._admin.close()

    async def _ensure(self, merchant_id: str) -> str:
        spec = merchant_spec(merchant_id, self.prefix, replication_factor=self.replication_factor)
        if spec.name not in self._provisioned:
            async with self._lock:
                if spec.name not in self._provisioned:
                    await asyncio.wait_for(provision(self._admin, [spec]), self.timeout_s)
                    self._provisioned.add(spec.name)
        return spec.name

    async def publish(self, merchant_id: str, order_id: str, message_id: str, kind: str, body: str) -> None:
        topic = await self._ensure(merchant_id)
        headers = [("webhook-id", message_id.encode()), ("type", kind.encode())]
        send = self.publisher.publish_raw(topic, key=order_id.encode(), value=body.encode(), headers=headers)
        await asyncio.wait_for(send, self.timeout_s)
