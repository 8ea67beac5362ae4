"""Signed headers verify with the standardwebhooks library under every current secret (a
rotation's overlap), and an altered body or a secret not signed with does not."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from merchant_relay.endpoints import live_secrets
from merchant_relay.webhook import signed_headers


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def test_every_current_secret_verifies_and_others_do_not() -> None:
    old, new, stranger = new_secret(), new_secret(), new_secret()
    body = '{"type":"order.paid"}'
    headers = signed_headers([old, new], "msg_abc", datetime.now(UTC), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == {"type": "order.paid"}
    with pytest.raises(WebhookVerificationError):
        Webhook(stranger).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace("paid", "refunded"), headers)


def test_expired_secrets_are_not_signed_with() -> None:
    now = datetime.now(UTC)
    document = {
        "secrets": [
            {"secret_id": "s1", "secret": "whsec_old", "expires_at": now - timedelta(seconds=1)},
            {"secret_id": "s2", "secret": "whsec_overlap", "expires_at": now + timedelta(hours=1)},
            {"secret_id": "s3", "secret": "whsec_current", "expires_at": None},
        ]
    }
    assert [s["secret"] for s in live_secrets(document["secrets"], now)] == ["whsec_overlap", "whsec_current"]
