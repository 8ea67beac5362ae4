"""Object ids and times in Stripe's style: ``<prefix>_<24 random letters and digits>`` and
whole seconds since the epoch. Ids are random, so two fakes (or two restarts) never agree."""

from __future__ import annotations

import secrets
import string
import time

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(24))}"


def now() -> int:
    return int(time.time())
