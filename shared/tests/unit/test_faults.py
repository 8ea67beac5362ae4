"""Which errors the consume loop waits out (transient) and which dead-letter a record (domain)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiokafka import errors as kafka
from pymongo import errors as mongo

from buybutton.faults import TransientFailure, is_transient
from buybutton.kafka.attempt import AttemptTimedOut
from buybutton.kafka.codec import PoisonRecord


def http_status(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://payments.invalid/v1/charges")
    response = httpx.Response(status, request=request)
    return httpx.HTTPStatusError(f"{status}", request=request, response=response)


def labelled(label: str) -> mongo.OperationFailure:
    return mongo.OperationFailure("write failed", code=91, details={"errorLabels": [label]})


class VersionConflict(TransientFailure):
    """As the unit of work raises it: a fresh read resolves it."""


TRANSIENT = [
    mongo.AutoReconnect("primary stepped down"),
    mongo.NetworkTimeout("socket timed out"),
    mongo.ServerSelectionTimeoutError("no server in 30 s"),
    mongo.NotPrimaryError("not primary"),
    mongo.ExecutionTimeout("operation exceeded time limit", code=50),
    mongo.WTimeoutError("waiting for replication timed out", code=64),
    labelled("RetryableWriteError"),
    labelled("TransientTransactionError"),
    kafka.KafkaConnectionError("broker down"),
    kafka.KafkaTimeoutError("no metadata in 60 s"),
    kafka.NodeNotReadyError("node 1"),
    kafka.RequestTimedOutError(),
    kafka.NotLeaderForPartitionError(),
    kafka.LeaderNotAvailableError(),  # retriable = True
    TimeoutError("read timed out"),
    asyncio.TimeoutError(),  # noqa: UP041 (the name asyncio code raises)
    ConnectionResetError("peer reset"),
    ConnectionRefusedError("refused"),
    httpx.ConnectTimeout("connect timed out"),
    httpx.ReadError("connection dropped"),
    http_status(500),
    http_status(503),
    http_status(429),
    TransientFailure("stripe answered 502"),
    VersionConflict("order o-1 moved to version 4"),
    AttemptTimedOut("attempt took longer than 30 s"),
]

DOMAIN = [
    ValueError("amount must be positive"),
    KeyError("variant"),
    RuntimeError("stock store said no"),
    PoisonRecord("value is not JSON"),
    mongo.DuplicateKeyError("E11000 duplicate key"),
    mongo.OperationFailure("bad query", code=2),
    mongo.WriteError("document failed validation", code=121),
    kafka.CommitFailedError("rebalanced"),
    kafka.RecordTooLargeError(),
    http_status(400),
    http_status(402),
    http_status(404),
    http_status(409),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
def test_infrastructure_failures_are_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", DOMAIN, ids=lambda e: type(e).__name__)
def test_everything_else_is_a_domain_error(error: BaseException) -> None:
    assert not is_transient(error)
