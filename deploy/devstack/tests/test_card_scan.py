"""``devstack scan-cards`` finds card numbers where they were planted, says where, and never
prints one whole; it passes over what storage engines write. Files are planted in a state
folder of the test's own: in text, between binary zeros, across the edge of a read block, and
after a hole of a sparse file. Records are planted on a private broker (so no shared topic or
data folder ever holds a planted number): in a key, a value and a header. Each test prints what
it planted, what was found and what was read."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from typer.testing import CliRunner

from devstack import card_scan
from devstack.card_scan import ScanReport, scan_topics
from devstack.cli import app
from devstack.private import PrivateKafka

VISA, AMEX = "4242424242424242", "378282246310005"
NOISE = (
    b"log.cleaner.max.compaction.lag.ms = 9223372036854775807\n"
    b"segment 00000000000000000000.log, ts=1733047200000 "
    b"test-4869b432.checkout.orders.v1.dlq-7.991d2ca4620549099702775dfda38336-delete\n"
)


def plant_files(state_dir: Path) -> dict[str, int]:
    """Card numbers in four places of the stack's folders, with noise beside them; per file,
    how many were planted."""
    data, logs = state_dir / "data" / "broker", state_dir / "logs"
    data.mkdir(parents=True)
    logs.mkdir(parents=True)
    (logs / "service.log").write_bytes(NOISE + f'{{"note": "Apt 5 {VISA}"}}\n'.encode())
    (data / "segment.bin").write_bytes(
        b"\x00\x17\x93" * 500 + f"amex {AMEX} 1234".encode() + b"\x00" * 64 + NOISE
    )
    edge = card_scan.BLOCK_BYTES - 7  # the number starts 7 bytes before a block ends
    (data / "across-a-block.bin").write_bytes(b"\x01" * edge + f"{VISA[:4]} {VISA[4:8]} {VISA[8:]}".encode())
    with (data / "sparse.index").open("wb") as sparse:
        sparse.seek(8 * 1024 * 1024)  # a hole, as Kafka preallocates its index files
        sparse.write(f"card {AMEX}\n".encode())
    return {"service.log": 1, "segment.bin": 1, "across-a-block.bin": 1, "sparse.index": 1}


def test_planted_numbers_are_found_masked_in_every_kind_of_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(card_scan, "BLOCK_BYTES", 64 * 1024)
    planted = plant_files(tmp_path)
    result = CliRunner().invoke(app, ["scan-cards", "--state-dir", str(tmp_path), "--no-topics"])
    print(result.output)
    hits = [line for line in result.output.splitlines() if line.startswith("scan-cards: hit:")]
    found = {name: sum(f"/{name} @ byte" in hit for hit in hits) for name in planted}
    print(f"planted {planted}; found {found}")
    assert result.exit_code == 1
    assert found == planted
    assert "scan-cards: hits 4" in result.output
    assert "files read 4" in result.output
    assert VISA not in result.output and AMEX not in result.output
    assert "4***********4242 (16 digits)" in result.output and "3**********0005 (15 digits)" in result.output


def test_a_clean_stack_passes_and_nothing_read_does_not(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "noise.log").write_bytes(NOISE * 1000)
    clean = CliRunner().invoke(app, ["scan-cards", "--state-dir", str(tmp_path), "--no-topics"])
    print(clean.output)
    assert clean.exit_code == 0 and "scan-cards: hits 0" in clean.output
    empty = CliRunner().invoke(app, ["scan-cards", "--state-dir", str(tmp_path / "none"), "--no-topics"])
    print(empty.output)
    assert empty.exit_code == 2 and "nothing was read" in empty.output


async def produce_planted(bootstrap_servers: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        sent = [
            (b"order-1", f'{{"note": "paid with {VISA}"}}'.encode(), []),
            (f"buyer {AMEX}".encode(), b"{}", []),
            (b"order-2", b"{}", [("x-note", f"card {VISA[:8]}-{VISA[8:]}".encode())]),
            (b"order-3", NOISE, [("event_type", b"ProductRestocked")]),
        ]
        for key, value, headers in sent:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
        return len(sent)
    finally:
        await producer.stop()


def test_planted_records_are_found_in_keys_values_and_headers(private_kafka: PrivateKafka) -> None:
    topic = f"planted-{uuid.uuid4().hex[:8]}"
    sent = asyncio.run(produce_planted(private_kafka.bootstrap_servers, topic))
    report = ScanReport()
    asyncio.run(scan_topics(private_kafka.bootstrap_servers, report))
    where = sorted(hit.where.split(", ", 1)[1] for hit in report.hits)
    print(f"sent {sent} records to {topic}; read {report.records} ({report.headers} headers)")
    print(f"hits {len(report.hits)}: {where}")
    assert report.records >= sent and report.topics >= 1
    assert where == ["header 'x-note' value", "key", "value"]
    assert all(VISA not in hit.masked and AMEX not in hit.masked for hit in report.hits)
    assert os.environ.get("KAFKA_BOOTSTRAP_SERVERS") != private_kafka.bootstrap_servers
