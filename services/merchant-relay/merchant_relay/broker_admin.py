"""``relay-admin onboard-kafka``: a merchant's own Kafka access, for operators.

relay-admin onboard-kafka MERCHANT_ID
    give a merchant its own Kafka access: its topic, a SCRAM-SHA-512 credential for user
    merchant-<id> and ACLs (read its topic, join groups merchant-<id>.*); prints the password
    once (it is stored nowhere but in the broker's salted verifier). Run again to replace the
    password. Reads KAFKA_BOOTSTRAP_SERVERS (the platform's listener, where it acts),
    KAFKA_TOPIC_PREFIX and RELAY_MERCHANT_KAFKA_BOOTSTRAP_SERVERS (the SASL listener merchants
    use: printed for them, and tried before the command answers).

``onboard_kafka`` is a typer command: ``relay-admin`` registers it beside its other commands
(``app`` here is the same command on its own).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from aiokafka.admin import AIOKafkaAdminClient

from merchant_relay.broker_access import MerchantBrokerAccess, OnboardingRefused, onboard_merchant


def onboard_kafka(
    merchant_id: Annotated[str, typer.Argument(help="the merchant's id (letters, digits, _ and -)")],
    bootstrap_servers: Annotated[
        str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="the platform's listener")
    ],
    merchant_bootstrap_servers: Annotated[
        str,
        typer.Option(envvar="RELAY_MERCHANT_KAFKA_BOOTSTRAP_SERVERS", help="the merchants' SASL listener"),
    ],
    topic_prefix: Annotated[str, typer.Option(envvar="KAFKA_TOPIC_PREFIX")] = "",
) -> None:
    """Create the merchant's topic, credential and ACLs; print the credential once."""
    try:
        access = asyncio.run(
            _onboard(merchant_id, bootstrap_servers, merchant_bootstrap_servers, topic_prefix)
        )
    except OnboardingRefused as refused:
        typer.echo(f"relay-admin: {refused}", err=True)
        raise typer.Exit(2) from None
    typer.echo(_credentials_text(access, merchant_bootstrap_servers))


async def _onboard(
    merchant_id: str, bootstrap_servers: str, merchant_bootstrap_servers: str, topic_prefix: str
) -> MerchantBrokerAccess:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="relay-admin")
    await admin.start()
    try:
        return await onboard_merchant(
            admin,
            merchant_id,
            topic_prefix=topic_prefix,
            merchant_bootstrap_servers=merchant_bootstrap_servers,
        )
    finally:
        await admin.close()


def _credentials_text(access: MerchantBrokerAccess, merchant_bootstrap_servers: str) -> str:
    return "\n".join(
        [
            f"Kafka access for merchant {access.merchant_id} (the password is shown this once):",
            f"  bootstrap.servers  {merchant_bootstrap_servers}",
            f"  security.protocol  {access.security_protocol}",
            f"  sasl.mechanism     {access.mechanism}",
            f"  username           {access.username}",
            f"  password           {access.password}",
            f"  topic              {access.topic}",
            f"  consumer groups    {access.group_prefix}<anything>",
        ]
    )
