"""Look for card numbers where the platform keeps things: every file under the local stack's
data and log folders, and every record of every topic on the broker (key, value, and each
header's name and value). ``devstack scan-cards`` runs it; ``make test`` runs that after pytest.

Consumes: the folders given and a broker. Produces: a ``ScanReport`` (files and bytes read,
records and topics read, and each hit with where it is, the number masked: never the whole of it).

The rule is ``buybutton.sensitive``'s: its docstring's "What a scan of stored data counts"
(``stored_card_numbers``). Stored bytes are read as text: printable ASCII, the ASCII white space
(tab, line feed, vertical tab, form feed, carriage return) and valid UTF-8 beyond ASCII; any
other byte (a C0 control, DEL, zero, a byte that is not UTF-8) ends the text there. Only a
stretch of at least 13 digits or non-ASCII bytes joined by ASCII separators can hold a digit run
of 13 digits, so only those stretches are decoded (a byte that is not UTF-8 becomes U+FFFD,
which ends a run) and checked, with a character of context on each side (rule 8). A file is read
in blocks; what may continue into the next block (up to 1 MiB) is carried over, so a number
across a block's edge is found; a block of zeros (a sparse file's hole) is passed over.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from aiokafka import AIOKafkaConsumer, TopicPartition

from buybutton.sensitive import stored_card_numbers

# a digit, or a byte of a non-ASCII character, then ASCII separators; 13 of them at least (possessive:
# a stretch too short is given up at once, not tried again from each of its digits)
CANDIDATE = re.compile(rb"(?:[0-9\x80-\xff][\t-\r ./\\_|'\-]*+){13,}+")
CANDIDATE_BYTES = bytes(range(0x30, 0x3A)) + bytes(range(0x80, 0x100)) + b"\t\n\x0b\x0c\r ./\\_|'-"
BLOCK_BYTES = 16 * 1024 * 1024
MAX_CARRY_BYTES = 1024 * 1024
FETCH_TIMEOUT_MS = 1000


@dataclass(frozen=True)
class Hit:
    where: str
    masked: str


@dataclass
class ScanReport:
    files: int = 0
    file_bytes: int = 0
    folders_missing: list[Path] = field(default_factory=list)
    topics: int = 0
    partitions: int = 0
    records: int = 0
    headers: int = 0
    hits: list[Hit] = field(default_factory=list)


def mask(number: str) -> str:
    """The first digit and the last four; the rest starred."""
    return f"{number[0]}{'*' * (len(number) - 5)}{number[-4:]} ({len(number)} digits)"


def card_numbers_in(data: bytes) -> list[tuple[int, str]]:
    """Every counted card number in ``data``: the offset of the stretch it is in, and the number
    masked."""
    found: list[tuple[int, str]] = []
    for candidate in CANDIDATE.finditer(data):
        start, end = max(candidate.start() - 1, 0), min(candidate.end() + 1, len(data))
        text = data[start:end].decode("utf-8", errors="replace")  # not UTF-8: U+FFFD ends a run
        found.extend((candidate.start(), mask(number)) for number in stored_card_numbers(text))
    return found


def data_extents(stream: BinaryIO, size: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each stretch of ``stream`` that holds data: a sparse file's holes (Kafka
    preallocates its index files that way) read as zeros, and are passed over unread."""
    position = 0
    while position < size:
        try:
            start = os.lseek(stream.fileno(), position, os.SEEK_DATA)
            end = os.lseek(stream.fileno(), start, os.SEEK_HOLE)
        except OSError as error:
            if error.errno != errno.ENXIO:  # holes are not reported here: read it all
                yield position, size
            return  # ENXIO: no data after ``position``
        yield start, end
        position = end


def scan_file(path: Path, report: ScanReport) -> None:
    def check(data: bytes, at: int) -> None:
        report.hits.extend(
            Hit(f"{path} @ byte {at + where}", masked) for where, masked in card_numbers_in(data)
        )

    with path.open("rb") as stream:
        for start, end in data_extents(stream, path.stat().st_size):
            stream.seek(start)
            offset, carry = start, b""  # offset: where ``carry`` starts in the file
            while (remaining := end - offset - len(carry)) > 0 and (
                block := stream.read(min(BLOCK_BYTES, remaining))
            ):
                report.file_bytes += len(block)
                if block.count(0) == len(block):  # zeros: a hole not reported as one, or padding
                    check(carry, offset)
                    offset, carry = offset + len(carry) + len(block), b""
                    continue
                buffer = carry + block
                more = offset + len(buffer) < end
                tail = len(buffer) - len(buffer.rstrip(CANDIDATE_BYTES))
                keep = min(tail, MAX_CARRY_BYTES) if more else 0
                check(buffer[: len(buffer) - keep], offset)
                offset, carry = offset + len(buffer) - keep, buffer[len(buffer) - keep :]
            check(carry, offset)
    report.files += 1


def scan_folders(folders: Iterable[Path], report: ScanReport) -> None:
    for folder in folders:
        if not folder.is_dir():
            report.folders_missing.append(folder)
            continue
        # os.walk passes over a folder removed while it runs (a deleted topic's), rglob does not
        for root, _, names in os.walk(folder):
            for name in sorted(names):
                path = Path(root) / name
                if path.is_symlink():
                    continue
                try:
                    scan_file(path, report)
                except FileNotFoundError:
                    continue  # removed while the scan ran (a log segment rolled away)


def record_parts(record: object) -> Iterator[tuple[str, bytes]]:
    yield "key", getattr(record, "key", None) or b""
    yield "value", getattr(record, "value", None) or b""
    for name, value in getattr(record, "headers", ()) or ():
        yield f"header {name!r} name", name.encode()
        yield f"header {name!r} value", value or b""


async def scan_topics(bootstrap_servers: str, report: ScanReport) -> None:
    """Every record of every topic, from the earliest offset to the end offsets at the start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()  # the public topics() drops partitions
        topics = sorted(cluster.topics())
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(cluster.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return
        report.topics, report.partitions = len(topics), len(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp, end in ends.items() if end > 0}
        while pending:
            for tp, records in (await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS)).items():
                for record in records:
                    report.records += 1
                    report.headers += len(record.headers or ())
                    for part, data in record_parts(record):
                        where = f"topic {tp.topic}[{tp.partition}] @ offset {record.offset}, {part}"
                        report.hits.extend(Hit(where, masked) for _, masked in card_numbers_in(data))
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()


def scan(folders: Iterable[Path], bootstrap_servers: str | None) -> ScanReport:
    report = ScanReport()
    scan_folders(folders, report)
    if bootstrap_servers:
        asyncio.run(scan_topics(bootstrap_servers, report))
    return report
