"""Fixtures for the shared plumbing's broker tests: a publisher on this test's topics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from buybutton.kafka.producer import EventPublisher


@pytest.fixture
async def publisher(kafka_bootstrap: str, registry_topics: str) -> AsyncIterator[EventPublisher]:
    publisher = await EventPublisher.start(
        kafka_bootstrap, client_id="test-publisher", topic_prefix=registry_topics
    )
    try:
        yield publisher
    finally:
        await publisher.stop()
