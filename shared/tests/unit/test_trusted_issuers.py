"""A trusted issuer's token verifies only with that issuer's own key and only within its
allowance (kinds, subjects, scopes); the identity provider stays trusted for everything; every
rule of the identity's tokens (principal-id subject, lifetime cap, card-free claims) holds for
trusted issuers' tokens too; AUTH_TRUSTED_ISSUERS is checked at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from buybutton.auth import (
    InvalidToken,
    Principal,
    TokenIssuer,
    TokenKind,
    TokenVerifier,
    generate_signing_key,
)
from buybutton.settings import PlatformSettings
from buybutton.trusted_issuers import TrustedIssuerSpec, trusted_issuers_json

IDENTITY_PRIVATE, IDENTITY_PUBLIC = generate_signing_key()
CHECKOUT_PRIVATE, CHECKOUT_PUBLIC = generate_signing_key()
TWEET_PRIVATE, TWEET_PUBLIC = generate_signing_key()
IDENTITY = TokenIssuer(IDENTITY_PRIVATE)
CHECKOUT = TokenIssuer(CHECKOUT_PRIVATE, issuer="checkout-service")
TWEET = TokenIssuer(TWEET_PRIVATE, issuer="tweet-service")
VAULT_SCOPES = ["payment:read", "profiles:hint", "profiles:write"]
KINDS: list[TokenKind] = ["buyer", "merchant", "service", "admin"]

CHECKOUT_SPEC = TrustedIssuerSpec(
    issuer="checkout-service",
    public_key=CHECKOUT_PUBLIC,
    kinds=["service"],
    subjects=["checkout-service"],
    scopes=VAULT_SCOPES,
)
TWEET_SPEC = TrustedIssuerSpec(issuer="tweet-service", public_key=TWEET_PUBLIC, kinds=["merchant"])
PLATFORM = {"environment": "test", "kafka_bootstrap_servers": "kafka:9092", "mongodb_url": "mongodb://db"}


def vault() -> TokenVerifier:
    return TokenVerifier(
        IDENTITY_PUBLIC, audience="vault-service", trusted=[CHECKOUT_SPEC.trusted(), TWEET_SPEC.trusted()]
    )


def test_a_trusted_issuers_token_within_its_allowance_verifies() -> None:
    token = CHECKOUT.mint("service", "checkout-service", audience="vault-service", scopes=VAULT_SCOPES)
    assert vault().verify(token) == Principal("service", "checkout-service", frozenset(VAULT_SCOPES))
    fewer = CHECKOUT.mint("service", "checkout-service", audience="vault-service", scopes=["payment:read"])
    assert vault().verify(fewer).scopes == {"payment:read"}
    merchant = TWEET.mint("merchant", "merchant-puddle-and-co", audience="vault-service")
    assert vault().verify(merchant) == Principal("merchant", "merchant-puddle-and-co")


@pytest.mark.parametrize(
    ("token", "refusal"),
    [
        (CHECKOUT.mint("admin", "checkout-service", audience="vault-service"), "admin"),
        (CHECKOUT.mint("buyer", "checkout-service", audience="vault-service"), "buyer"),
        (CHECKOUT.mint("service", "merchant-relay", audience="vault-service"), "subject"),
        (
            CHECKOUT.mint("service", "checkout-service", audience="vault-service", scopes=["shipping:read"]),
            "shipping:read",
        ),
        (
            CHECKOUT.mint(
                "service", "checkout-service", audience="vault-service", scopes=[*VAULT_SCOPES, "keys:rotate"]
            ),
            "keys:rotate",
        ),
        (TWEET.mint("service", "tweet-service", audience="vault-service"), "service"),
        (TWEET.mint("admin", "admin-grace", audience="vault-service", scopes=["vault:admin"]), "admin"),
    ],
    ids=[
        "admin kind",
        "buyer kind",
        "another subject",
        "a scope never allowed",
        "one scope too many",
        "merchant issuer, service kind",
        "merchant issuer, admin kind",
    ],
)
def test_a_trusted_issuer_minting_beyond_its_allowance_is_refused(token: str, refusal: str) -> None:
    with pytest.raises(InvalidToken, match=refusal):
        vault().verify(token)


def test_a_trusted_issuers_name_with_another_key_is_refused() -> None:
    impostor = TokenIssuer(generate_signing_key()[0], issuer="checkout-service")
    with pytest.raises(InvalidToken, match="InvalidSignatureError"):
        vault().verify(impostor.mint("service", "checkout-service", audience="vault-service"))


def test_the_identitys_key_does_not_sign_for_a_trusted_issuers_name() -> None:
    as_checkout = TokenIssuer(IDENTITY_PRIVATE, issuer="checkout-service")
    with pytest.raises(InvalidToken, match="InvalidSignatureError"):
        vault().verify(as_checkout.mint("service", "checkout-service", audience="vault-service"))


def test_a_trusted_issuers_key_does_not_sign_for_the_identity() -> None:
    as_identity = TokenIssuer(CHECKOUT_PRIVATE)  # the identity's name, checkout's key
    with pytest.raises(InvalidToken, match="InvalidSignatureError"):
        vault().verify(as_identity.mint("admin", "admin-grace", audience="vault-service"))


def test_a_trusted_issuers_key_does_not_sign_for_another_trusted_issuer() -> None:
    tweet_as_checkout = TokenIssuer(TWEET_PRIVATE, issuer="checkout-service")
    with pytest.raises(InvalidToken, match="InvalidSignatureError"):
        vault().verify(tweet_as_checkout.mint("service", "checkout-service", audience="vault-service"))


def test_an_issuer_nobody_trusts_is_refused_and_a_token_without_iss_too() -> None:
    stranger = TokenIssuer(generate_signing_key()[0], issuer="rollout-service")
    with pytest.raises(InvalidToken, match="no trusted issuer"):
        vault().verify(stranger.mint("service", "rollout-service", audience="vault-service"))
    now = datetime.now(UTC)
    no_iss = jwt.encode(
        {"sub": "checkout-service", "aud": "vault-service", "kind": "service", "iat": now, "exp": now},
        CHECKOUT_PRIVATE,
        algorithm="EdDSA",
    )
    with pytest.raises(InvalidToken, match="names no issuer"):
        vault().verify(no_iss)


def _checkout_signed(claims: dict[str, Any]) -> str:
    now = datetime.now(UTC)
    usual = {"iss": "checkout-service", "aud": "vault-service", "kind": "service", "sub": "checkout-service"}
    return jwt.encode(
        {**usual, "iat": now, "exp": now + timedelta(minutes=5), **claims},
        CHECKOUT_PRIVATE,
        algorithm="EdDSA",
    )


@pytest.mark.parametrize(
    ("claims", "refusal"),
    [
        ({"exp": datetime.now(UTC) + timedelta(days=2)}, "lives longer"),
        ({"exp": datetime.now(UTC) - timedelta(minutes=5)}, "ExpiredSignatureError"),
        ({"aud": "checkout-service"}, "InvalidAudienceError"),
        ({"jti": "4242 4242 4242 4242"}, "card data"),
        ({"sub": "4242424242424242"}, "principal id"),
        ({"note": "a harmless extra claim"}, ""),
    ],
    ids=["too long a life", "expired", "other audience", "card data", "card-number subject", "extra claim"],
)
def test_every_rule_of_the_identitys_tokens_holds_for_trusted_issuers(
    claims: dict[str, Any], refusal: str
) -> None:
    token = _checkout_signed(claims)
    if not refusal:  # a harmless extra claim: still verifies
        assert vault().verify(token).subject == "checkout-service"
        return
    with pytest.raises(InvalidToken, match=refusal):
        vault().verify(token)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    scopes=st.sets(st.sampled_from([*VAULT_SCOPES, "shipping:read", "vault:admin", "keys:rotate"])),
    subject=st.sampled_from(["checkout-service", "merchant-relay", "buyer-ada"]),
)
def test_a_checkout_token_verifies_exactly_when_its_allowance_covers_it(
    kind: TokenKind, scopes: set[str], subject: str
) -> None:
    token = CHECKOUT.mint(kind, subject, audience="vault-service", scopes=scopes)
    within = kind == "service" and subject == "checkout-service" and scopes <= set(VAULT_SCOPES)
    if within:
        assert vault().verify(token) == Principal(kind, subject, frozenset(scopes))
    else:
        with pytest.raises(InvalidToken):
            vault().verify(token)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(KINDS), scopes=st.sets(st.sampled_from(["vault:admin", "merchants:write"])))
def test_the_identity_stays_trusted_for_every_kind_and_scope(kind: TokenKind, scopes: set[str]) -> None:
    token = IDENTITY.mint(kind, "principal-7", audience="vault-service", scopes=scopes)
    assert vault().verify(token) == Principal(kind, "principal-7", frozenset(scopes))


def test_the_setting_reads_as_json_and_becomes_the_verifiers_allowances(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert PlatformSettings(**PLATFORM).trusted_issuers == []
    monkeypatch.setenv("AUTH_TRUSTED_ISSUERS", trusted_issuers_json(CHECKOUT_SPEC, TWEET_SPEC))
    read = PlatformSettings(**PLATFORM)
    assert [issuer.name for issuer in read.trusted_issuers] == ["checkout-service", "tweet-service"]
    assert read.trusted_issuers[0].subjects == {"checkout-service"}
    assert read.trusted_issuers[1].subjects is None and read.trusted_issuers[1].scopes == set()


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"kinds": ["admin"]}, "only the identity provider issues admin tokens"),
        ({"kinds": []}, "at least 1 item"),
        ({"public_key": "not a key"}, "not a PEM public key"),
        ({"public_key": generate_signing_key()[0]}, "not a PEM public key"),
        ({"issuer": "buybutton-identity"}, "is the identity provider"),
        ({"scopes": ["payment read"]}, "String should match pattern"),
        ({"audience": "vault-service"}, "Extra inputs are not permitted"),
    ],
    ids=[
        "admin",
        "no kinds",
        "not a key",
        "a private key",
        "the identity's name",
        "bad scope",
        "unknown field",
    ],
)
def test_a_bad_trusted_issuer_refuses_the_start(entry: dict[str, Any], problem: str) -> None:
    spec = {"issuer": "checkout-service", "public_key": CHECKOUT_PUBLIC, "kinds": ["service"], **entry}
    with pytest.raises(ValidationError, match=problem):
        PlatformSettings(**PLATFORM, auth_trusted_issuers=[spec])


def test_an_issuer_named_twice_refuses_the_start() -> None:
    with pytest.raises(ValidationError, match="named twice: checkout-service"):
        PlatformSettings(**PLATFORM, auth_trusted_issuers=[CHECKOUT_SPEC, CHECKOUT_SPEC])
