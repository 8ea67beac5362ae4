"""Who is calling: the secret key in ``Authorization`` (Bearer, or Basic with the key as the
user name, as ``curl -u sk_test_...:`` sends it).

Only test-mode secret keys (``sk_test_...``) are accepted; anything else is Stripe's 401. Each
key is its own account in the fake: its objects, idempotency keys, counters, faults and
webhook endpoint are seen by that key alone, so tests sharing one fake never see each other.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from devstack.fake_stripe.errors import not_authenticated

TEST_KEY_PREFIX = "sk_test_"


def api_key_from(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization", "").strip()
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip() or None
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    return None


def require_test_key(headers: Mapping[str, str]) -> str:
    key = api_key_from(headers)
    if key is None:
        raise not_authenticated(
            "You did not provide an API key. You need to provide your API key in the Authorization "
            "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
        )
    if not key.startswith(TEST_KEY_PREFIX) or len(key) <= len(TEST_KEY_PREFIX):
        raise not_authenticated(f"Invalid API Key provided: {mask(key)}")
    return key


def mask(key: str) -> str:
    return f"{key[:8]}{'*' * max(len(key) - 12, 0)}{key[-4:]}" if len(key) > 12 else "*" * len(key)
