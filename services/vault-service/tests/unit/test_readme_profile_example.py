"""The vault README's example of saving a profile is what the API takes and answers, and its
statement about ``is_default`` is the code's: exactly one default, also for a single address."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from vault_service.profile import MaskedProfile, ProfileIn

README = Path(__file__).resolve().parents[2] / "README.md"


def example_body() -> dict[str, Any]:
    section = README.read_text().split("### Saving a profile", 1)[1]
    body = re.search(r"-d '(\{.*?\})'\n", section, re.DOTALL)
    assert body is not None, "the README's example body was not found"
    return json.loads(body.group(1))  # type: ignore[no-any-return]


def test_the_readme_example_is_accepted_and_answered_as_shown() -> None:
    profile = ProfileIn.model_validate(example_body())
    masked = MaskedProfile.of(profile.encrypted_values(), profile.consents).model_dump()
    assert masked["shipping_addresses"][0] == {
        "recipient": "Ada Lovelace",
        "city": "London",
        "country": "GB",
        "line1": "12 ***",
        "is_default": True,
    }
    assert masked["contact_email"] == "a***@example.com"


def test_one_address_without_is_default_is_refused_as_the_readme_says() -> None:
    single = example_body()["shipping_addresses"][1]
    assert "is_default" not in single
    with pytest.raises(ValidationError, match="exactly one shipping address must be the default"):
        ProfileIn.model_validate({"shipping_addresses": [single]})
    assert ProfileIn.model_validate({"shipping_addresses": [{**single, "is_default": True}]})
