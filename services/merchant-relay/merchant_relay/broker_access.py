"""A partner merchant's own access to its Kafka topic: onboarding creates the merchant's topic,
its SCRAM-SHA-512 credential and its ACLs; the merchant then reads on the broker's SASL
listener (see devstack.components.kafka), never on the platform's.

Consumes an admin connection on the platform's listener (whose principal may create topics,
credentials and ACLs); produces, on the broker: topic ``merchant.<id>.orders.v1``, the user
``merchant-<id>`` and exactly three ACLs for User:merchant-<id> — READ and DESCRIBE on that topic
(literal name) and READ on consumer groups named ``merchant-<id>.`` + anything (prefixed). The
broker refuses everything else (allow.everyone.if.no.acl.found=false): another merchant's topic,
another merchant's groups, writing, creating, listing the cluster's configuration.

Rules it keeps:
- Merchant ids here are letters, digits, ``_`` and ``-`` only: a dot would let merchant ``a``'s
  group prefix ``merchant-a.`` cover merchant ``a.b``'s groups (``merchant-a.b.``...).
- The password is made here, returned once and never stored by the relay; the broker keeps only
  a salted SCRAM verifier. Onboarding again replaces the password (how a merchant's credential
  is rotated); ACLs and the topic are created if missing, so running it twice is harmless.
- Onboarded means usable: given the merchants' listener, onboarding returns only once the new
  credential authenticates there and its topic ACL is in force (the controller applies both a
  moment after it acknowledges them).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, for_code

from buybutton.kafka.provision import merchant_spec, provision
from merchant_relay.broker_requests import (
    OPERATION_DESCRIBE,
    OPERATION_READ,
    PATTERN_LITERAL,
    PATTERN_PREFIXED,
    PERMISSION_ALLOW,
    RESOURCE_GROUP,
    RESOURCE_TOPIC,
    Acl,
    AlterUserScramCredentialsRequest,
    CreateAclsRequest,
)

MECHANISM = "SCRAM-SHA-512"
SECURITY_PROTOCOL = "SASL_PLAINTEXT"
SCRAM_ITERATIONS = 8192  # Kafka refuses fewer than 4096
MERCHANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
READY_TIMEOUT_S = 30.0


class OnboardingRefused(ValueError):
    """The merchant id cannot be given broker access safely; the message says why."""


@dataclass(frozen=True)
class MerchantBrokerAccess:
    """What a merchant needs to consume its topic (the password is shown once)."""

    merchant_id: str
    username: str
    password: str
    topic: str
    group_prefix: str
    mechanism: str = MECHANISM
    security_protocol: str = SECURITY_PROTOCOL


def merchant_username(merchant_id: str) -> str:
    return f"merchant-{merchant_id}"


def merchant_group_prefix(merchant_id: str) -> str:
    """Every consumer group the merchant may join starts with this."""
    return f"{merchant_username(merchant_id)}."


def merchant_acls(merchant_id: str, topic: str) -> list[Acl]:
    principal = f"User:{merchant_username(merchant_id)}"
    return [
        (RESOURCE_TOPIC, topic, PATTERN_LITERAL, principal, "*", OPERATION_READ, PERMISSION_ALLOW),
        (RESOURCE_TOPIC, topic, PATTERN_LITERAL, principal, "*", OPERATION_DESCRIBE, PERMISSION_ALLOW),
        (
            RESOURCE_GROUP,
            merchant_group_prefix(merchant_id),
            PATTERN_PREFIXED,
            principal,
            "*",
            OPERATION_READ,
            PERMISSION_ALLOW,
        ),
    ]


def salted_password(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> bytes:
    """RFC 5802's Hi(password, salt, i) for SHA-512 (the password is ASCII: no SASLprep needed)."""
    return hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)


async def onboard_merchant(
    admin: AIOKafkaAdminClient,
    merchant_id: str,
    *,
    topic_prefix: str = "",
    merchant_bootstrap_servers: str | None = None,
) -> MerchantBrokerAccess:
    """Create (or refresh) the merchant's topic, credential and ACLs; see the module's rules."""
    if not MERCHANT_ID.fullmatch(merchant_id):
        raise OnboardingRefused(
            f"merchant id {merchant_id!r}: broker access needs letters, digits, '_' or '-' only "
            "(a '.' would let one merchant's group prefix cover another merchant's groups)"
        )
    spec = merchant_spec(merchant_id, topic_prefix)
    await provision(admin, [spec])
    access = MerchantBrokerAccess(
        merchant_id=merchant_id,
        username=merchant_username(merchant_id),
        password=secrets.token_urlsafe(32),
        topic=spec.name,
        group_prefix=merchant_group_prefix(merchant_id),
    )
    await set_scram_credential(admin, access.username, access.password)
    await grant(admin, merchant_acls(merchant_id, access.topic))
    if merchant_bootstrap_servers:
        await until_usable(access, merchant_bootstrap_servers)
    return access


async def set_scram_credential(admin: AIOKafkaAdminClient, username: str, password: str) -> None:
    salt = secrets.token_bytes(32)
    request = AlterUserScramCredentialsRequest(
        username,
        iterations=SCRAM_ITERATIONS,
        salt=salt,
        salted_password=salted_password(password, salt),
    )
    # aiokafka's admin offers no call for this request; _send_request is how its own calls send
    response = await admin._send_request(request)
    for user, code, message, _tags in response.results:
        if code:
            raise for_code(code)(f"setting the SCRAM credential of {user}: {message}")


async def grant(admin: AIOKafkaAdminClient, acls: list[Acl]) -> None:
    response = await admin._send_request(CreateAclsRequest(acls))
    for acl, (code, message, _tags) in zip(acls, response.results, strict=True):
        if code:
            raise for_code(code)(f"creating ACL {acl}: {message}")


async def until_usable(
    access: MerchantBrokerAccess, merchant_bootstrap_servers: str, timeout_s: float = READY_TIMEOUT_S
) -> None:
    """Wait until the merchant's credential authenticates and its topic ACL lets it describe."""
    deadline = time.monotonic() + timeout_s
    problem = "not tried"
    while time.monotonic() < deadline:
        try:
            if await _describes_own_topic(access, merchant_bootstrap_servers):
                return
            problem = "topic not yet authorised"
        except KafkaError as error:
            problem = f"{type(error).__name__}: {error}"
        await asyncio.sleep(0.2)
    raise TimeoutError(
        f"{access.username} cannot use {access.topic} on {merchant_bootstrap_servers} "
        f"within {timeout_s:.0f} s (last: {problem})"
    )


async def _describes_own_topic(access: MerchantBrokerAccess, bootstrap: str) -> bool:
    admin = merchant_admin_client(access, bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([access.topic])
        return bool(described["error_code"] == 0)
    finally:
        await admin.close()


def merchant_admin_client(access: MerchantBrokerAccess, bootstrap: str) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        security_protocol=access.security_protocol,
        sasl_mechanism=access.mechanism,
        sasl_plain_username=access.username,
        sasl_plain_password=access.password,
        request_timeout_ms=5000,
    )
