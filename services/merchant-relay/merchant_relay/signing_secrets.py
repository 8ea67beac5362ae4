"""A merchant's webhook signing secrets, in the format the Standard Webhooks libraries take:
``whsec_`` + base64 of 32 random bytes (the spec asks for 24 to 64). Each has an id
(``sec_...``) that the merchant API shows; the secret itself is shown once, when it is made.
Both are drawn card-free (no scan for card data ever finds one)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from buybutton.sensitive import card_free

SECRET_BYTES = 32
SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)


@dataclass(frozen=True)
class SigningSecret:
    secret_id: str
    secret: str
    created_at: datetime

    def stored(self) -> dict[str, Any]:
        return {
            "secret_id": self.secret_id,
            "secret": self.secret,
            "created_at": self.created_at,
            "expires_at": None,
        }


def new_signing_secret(now: datetime) -> SigningSecret:
    secret = card_free(lambda: SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode())
    secret_id = card_free(lambda: "sec_" + secrets.token_hex(12))
    return SigningSecret(secret_id, secret, now)
