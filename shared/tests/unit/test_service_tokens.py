"""A service's own tokens: kind service, subject and issuer the service, the audience's scopes,
verified by a callee that trusts the service; kept until 80 % of their life has passed, then
minted again; one token per audience even when threads and tasks ask at once."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from buybutton.auth import InvalidToken, Principal, TokenVerifier, generate_signing_key
from buybutton.service_tokens import ServiceTokens, UnknownAudience
from buybutton.trusted_issuers import TrustedIssuerSpec

IDENTITY_PUBLIC = generate_signing_key()[1]
PRIVATE, PUBLIC = generate_signing_key()
VAULT_SCOPES = ("payment:read", "profiles:hint", "profiles:write")


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


def checkout_tokens(clock: Clock | None = None, ttl: timedelta = timedelta(seconds=300)) -> ServiceTokens:
    return ServiceTokens(
        PRIVATE,
        issuer="checkout-service",
        audience_scopes={"vault-service": VAULT_SCOPES, "tweet-service": ()},
        ttl=ttl,
        **({"clock": clock} if clock else {}),
    )


CHECKOUT_TRUSTED = TrustedIssuerSpec(
    issuer="checkout-service",
    public_key=PUBLIC,
    kinds=["service"],
    subjects=["checkout-service"],
    scopes=list(VAULT_SCOPES),
).trusted()


def vault() -> TokenVerifier:
    return TokenVerifier(IDENTITY_PUBLIC, audience="vault-service", trusted=[CHECKOUT_TRUSTED])


def test_the_header_carries_a_service_token_the_callee_verifies() -> None:
    header = checkout_tokens().header("vault-service")
    scheme, token = header["Authorization"].split(" ")
    assert scheme == "Bearer"
    assert vault().verify(token) == Principal("service", "checkout-service", frozenset(VAULT_SCOPES))


def test_a_token_for_one_audience_is_refused_by_another() -> None:
    token = checkout_tokens().token("tweet-service")
    with pytest.raises(InvalidToken, match="InvalidAudienceError"):
        vault().verify(token)


def test_an_audience_without_configured_scopes_gets_no_token() -> None:
    with pytest.raises(UnknownAudience, match="rollout-service"):
        checkout_tokens().header("rollout-service")


def test_a_token_is_kept_until_80_percent_of_its_life_then_renewed() -> None:
    clock = Clock()
    tokens = checkout_tokens(clock)
    first = tokens.token("vault-service")
    clock.now += 239.0
    assert tokens.token("vault-service") == first
    clock.now += 1.0  # 240 s of 300: renewal is due
    second = tokens.token("vault-service")
    assert second != first
    clock.now += 239.0
    assert tokens.token("vault-service") == second


def test_tokens_are_short_lived() -> None:
    tokens = checkout_tokens(ttl=timedelta(seconds=300))
    short = TokenVerifier(
        IDENTITY_PUBLIC,
        audience="vault-service",
        max_lifetime_s=300,
        leeway_s=0,
        trusted=[CHECKOUT_TRUSTED],
    )
    assert short.verify(tokens.token("vault-service")).subject == "checkout-service"
    with pytest.raises(InvalidToken, match="lives longer"):
        short.verify(checkout_tokens(ttl=timedelta(seconds=400)).token("vault-service"))


def test_bad_lifetimes_and_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        checkout_tokens(ttl=timedelta(0))
    with pytest.raises(ValueError, match="fraction"):
        ServiceTokens(PRIVATE, issuer="checkout-service", audience_scopes={}, renew_fraction=1.5)
    with pytest.raises(ValueError):
        ServiceTokens(PUBLIC, issuer="checkout-service", audience_scopes={})


def test_threads_asking_at_once_share_one_token() -> None:
    tokens = checkout_tokens(Clock())
    seen: list[str] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        seen.extend(tokens.token("vault-service") for _ in range(50))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    print(f"threads: {len(seen)} tokens asked for, {len(set(seen))} distinct")
    assert len(seen) == 400
    assert len(set(seen)) == 1


async def test_tasks_asking_at_once_share_one_token() -> None:
    tokens = checkout_tokens(Clock())

    async def ask() -> str:
        await asyncio.sleep(0)
        token: str = tokens.token("vault-service")
        return token

    seen = await asyncio.gather(*(ask() for _ in range(100)))
    print(f"tasks: {len(seen)} tokens asked for, {len(set(seen))} distinct")
    assert len(set(seen)) == 1
