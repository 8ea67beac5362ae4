"""Every event type goes through the real broker and comes back equal, with its headers, on
the topic the registry names, keyed by its aggregate id."""

from __future__ import annotations

from buybutton.events.examples import sample_events
from buybutton.kafka.codec import EVENT_TYPE_HEADER, SCHEMA_VERSION_HEADER, decode, header
from buybutton.kafka.producer import EventPublisher
from buybutton.topics import topic_for
from devstack.testing import read_until


async def test_every_event_round_trips_through_the_broker(kafka_bootstrap: str, registry_topics: str) -> None:
    events = sample_events()
    publisher = await EventPublisher.start(
        kafka_bootstrap, client_id="roundtrip", topic_prefix=registry_topics
    )
    try:
        await publisher.publish_all(events)
    finally:
        await publisher.stop()

    for sent in events:
        topic = topic_for(sent).named(registry_topics)
        records = await read_until(
            kafka_bootstrap,
            topic,
            lambda rs, sent=sent: any(decode(r.value, r.headers).event_id == sent.event_id for r in rs),
        )
        [record] = [r for r in records if decode(r.value, r.headers).event_id == sent.event_id]
        assert decode(record.value, record.headers) == sent
        assert record.key == sent.key.encode()
        assert header(record.headers, EVENT_TYPE_HEADER) == sent.event_type
        assert header(record.headers, SCHEMA_VERSION_HEADER) == str(sent.schema_version)
