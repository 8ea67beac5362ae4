"""Merchant API keys: shown once, stored as a hash, matched in constant time, refused when
malformed, tampered with or someone else's."""

from __future__ import annotations

import pytest

from buybutton.api_keys import InvalidApiKey, issue_api_key, parse_api_key, secret_matches


def test_an_issued_key_parses_back_and_matches_only_its_own_hash() -> None:
    first, second = issue_api_key(), issue_api_key()
    key_id, secret = parse_api_key(first.api_key)
    assert key_id == first.key_id
    assert secret_matches(secret, first.secret_hash)
    assert not secret_matches(secret, second.secret_hash)
    assert not secret_matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"), first.secret_hash)
    assert secret not in first.secret_hash and first.key_id != second.key_id


@pytest.mark.parametrize(
    "presented", ["", "hunter2", "bbk_", "bbk_abc", "bbk_.secret", "bbk_abc.", "x" * 300]
)
def test_values_not_shaped_like_a_key_are_refused(presented: str) -> None:
    with pytest.raises(InvalidApiKey):
        parse_api_key(presented)
