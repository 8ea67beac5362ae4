"""Test data and helpers for vault-service tests: planted canary values, master keys made for
this run, a full profile, and a dump of every document for plaintext scans."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from bson import Binary
from pymongo.database import Database

KEY_V1 = base64.b64encode(os.urandom(32)).decode()
KEY_V2 = base64.b64encode(os.urandom(32)).decode()
CANARIES = {
    "recipient": "Ada Canary-Lovelace",
    "line1": "12 Canary Analytical Row",
    "email": "ada.canary@example.com",
    "customer": "cus_CanaryAda01",
    "payment_method": "pm_CanaryVisa01",
}


def full_profile(canary_suffix: str = "", *, share_email: bool = False) -> dict[str, Any]:
    return {
        "shipping_addresses": [
            {
                "recipient": CANARIES["recipient"] + canary_suffix,
                "line1": CANARIES["line1"] + canary_suffix,
                "city": "London",
                "postal_code": "N1 9GU",
                "country": "GB",
                "is_default": True,
            },
            {
                "recipient": "Ada at work",
                "line1": "1 Engine Lane",
                "city": "London",
                "postal_code": "EC1A 1BB",
                "country": "GB",
            },
        ],
        "contact_email": CANARIES["email"].replace("@", canary_suffix + "@"),
        "stripe_customer_id": CANARIES["customer"] + canary_suffix.replace("-", ""),
        "default_payment_method_id": CANARIES["payment_method"] + canary_suffix.replace("-", ""),
        "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
        "consents": {"remember_me": True, "share_email_with_merchant": share_email},
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def dump_everything(db: Database[dict[str, Any]]) -> str:
    """Every document of every collection, as text (binary as latin-1)."""

    def plain(value: Any) -> Any:
        if isinstance(value, bytes | Binary):
            return bytes(value).decode("latin-1")
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return str(value)

    return json.dumps([plain(d) for name in db.list_collection_names() for d in db[name].find({})])
