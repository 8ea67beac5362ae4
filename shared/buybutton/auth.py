"""Who is calling: signed tokens (JWT, EdDSA/Ed25519 through PyJWT) for buyers, merchants,
services and admins, and the FastAPI dependencies that demand them.

A token names its ``kind`` (buyer | merchant | service | admin), its subject (the buyer id,
merchant id or service name), the audience (the service it is meant for), ``scope`` (space
separated, for services) and, for buyers, ``country``. Missing or invalid credentials answer
401 with ``WWW-Authenticate: Bearer``; valid credentials of the wrong kind or without the
scope answer 403. Tokens are never logged.

Invalid, besides a bad signature, issuer, audience or time: a subject that is not a principal
id (the one rule for buyer, merchant, admin and service ids, ``is_principal_id``: the event
envelope's ``Identifier``, 1-128 characters of ``A-Za-z0-9_.:-``, and no card number in it, so
that an id can stand in events, Kafka keys and documents as it is); any claim, name or value,
that holds card data; and an ``exp`` more than ``max_lifetime_s`` (AUTH_MAX_TOKEN_LIFETIME_S)
ahead, so a stolen token cannot be minted to live for ever.

Who may sign: the identity provider (``AUTH_PUBLIC_KEY``, issuer ``AUTH_ISSUER``) for every kind,
and each trusted issuer (``AUTH_TRUSTED_ISSUERS``, see ``buybutton.trusted_issuers``) within its
allowance: its kinds, its subjects if it names any, at most its scopes. The token's ``iss`` is
read unverified only to choose the key; the token is then verified with that key and that
issuer, and only then held to the issuer's allowance. A token outside it is invalid (401), like
one naming an issuer nobody trusts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, cast, get_args

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import TypeAdapter, ValidationError

from buybutton.events.envelope import Identifier
from buybutton.inputs import find_card_data
from buybutton.sensitive import looks_like_card_number

TokenKind = Literal["buyer", "merchant", "service", "admin"]
ALGORITHM = "EdDSA"
DEFAULT_ISSUER = "buybutton-identity"
DEFAULT_MAX_LIFETIME_S = 24 * 60 * 60
_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)


def is_principal_id(candidate: object) -> bool:
    """Whether ``candidate`` may name a buyer, merchant, admin or service anywhere on the platform."""
    try:
        _IDENTIFIER.validate_python(candidate, strict=True)
    except ValidationError:
        return False
    return not looks_like_card_number(str(candidate))


@dataclass(frozen=True)
class Principal:
    kind: TokenKind
    subject: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    country: str | None = None

    @property
    def label(self) -> str:
        """How the audit trail names the caller, e.g. ``service:checkout-service``."""
        return f"{self.kind}:{self.subject}"


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not for this audience."""


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer besides the identity provider whose tokens are accepted, within an allowance:
    only ``kinds``, only ``subjects`` (None: any principal id), at most ``scopes``."""

    name: str
    public_key_pem: str
    kinds: frozenset[TokenKind]
    scopes: frozenset[str] = frozenset()
    subjects: frozenset[str] | None = None

    def refusal(self, principal: Principal) -> str | None:
        """Why this issuer may not vouch for ``principal``; None when it may."""
        if principal.kind not in self.kinds:
            return f"{self.name} may not issue {principal.kind} tokens"
        if self.subjects is not None and principal.subject not in self.subjects:
            return f"{self.name} may not issue tokens for this subject"
        if not principal.scopes <= self.scopes:
            return f"{self.name} may not grant {' '.join(sorted(principal.scopes - self.scopes))}"
        return None


def _public_key(pem: str, setting: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{setting} must be an Ed25519 public key (PEM)")
    return key


def generate_signing_key() -> tuple[str, str]:
    """A new Ed25519 key pair as (private PEM, public PEM), for development and tests."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


class TokenIssuer:
    """Mints tokens; lives with the identity provider (and in tests and dev tooling)."""

    def __init__(self, private_key_pem: str, *, issuer: str = DEFAULT_ISSUER) -> None:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the token signing key must be an Ed25519 private key")
        self._key = key
        self.issuer = issuer

    def mint(
        self,
        kind: TokenKind,
        subject: str,
        *,
        audience: str,
        scopes: Iterable[str] = (),
        country: str | None = None,
        ttl: timedelta = timedelta(minutes=15),
        now: datetime | None = None,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "kind": kind,
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl,
        }
        if scopes:
            claims["scope"] = " ".join(sorted(scopes))
        if country is not None:
            claims["country"] = country
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)


class TokenVerifier:
    """Checks signature, issuer, audience and expiry, then reads the principal; a token of a
    trusted issuer must also stay within that issuer's allowance."""

    def __init__(
        self,
        public_key_pem: str,
        *,
        audience: str,
        issuer: str = DEFAULT_ISSUER,
        leeway_s: int = 5,
        max_lifetime_s: int = DEFAULT_MAX_LIFETIME_S,
        trusted: Iterable[TrustedIssuer] = (),
    ) -> None:
        self.audience = audience
        self.issuer = issuer
        self.leeway_s = leeway_s
        self.max_lifetime_s = max_lifetime_s
        self._keys: dict[str, Ed25519PublicKey] = {issuer: _public_key(public_key_pem, "AUTH_PUBLIC_KEY")}
        self._trusted: dict[str, TrustedIssuer] = {}
        for other in trusted:
            if other.name in self._keys:
                raise ValueError(f"issuer {other.name!r} is named twice among the trusted issuers")
            self._keys[other.name] = _public_key(other.public_key_pem, "AUTH_TRUSTED_ISSUERS' public_key")
            self._trusted[other.name] = other

    def verify(self, token: str) -> Principal:
        claimed = self._claimed_issuer(token)
        key = self._keys.get(claimed)
        if key is None:
            raise InvalidToken("no trusted issuer of that name")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=claimed,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(type(error).__name__) from None
        self._check_claims(claims)
        principal = _principal_of(claims)
        allowance = self._trusted.get(claimed)
        refusal = allowance.refusal(principal) if allowance is not None else None
        if refusal is not None:
            raise InvalidToken(refusal)
        return principal

    @staticmethod
    def _claimed_issuer(token: str) -> str:
        """The ``iss`` the token claims, read without verifying anything: it only chooses the
        key that the whole token is then verified with."""
        try:
            claimed = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as error:
            raise InvalidToken(type(error).__name__) from None
        if not isinstance(claimed, str):
            raise InvalidToken("the token names no issuer")
        return claimed

    def _check_claims(self, claims: dict[str, Any]) -> None:
        if not is_principal_id(claims["sub"]):
            raise InvalidToken("subject is not a principal id")
        latest = time.time() + self.max_lifetime_s + self.leeway_s
        if not isinstance(claims["exp"], int | float) or claims["exp"] > latest:
            raise InvalidToken("the token lives longer than AUTH_MAX_TOKEN_LIFETIME_S")
        if find_card_data(claims) is not None:
            raise InvalidToken("a claim holds card data")


def _principal_of(claims: dict[str, Any]) -> Principal:
    kind = claims.get("kind")
    if kind not in get_args(TokenKind):
        raise InvalidToken("unknown token kind")
    country = claims.get("country")
    return Principal(
        kind=cast(TokenKind, kind),
        subject=str(claims["sub"]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        country=country if isinstance(country, str) else None,
    )


_bearer = HTTPBearer(auto_error=False)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from the bearer token; 401 when there is none or it does not verify.

    Verified on the event loop: the check is CPU only (about 0.1 ms, the Ed25519 signature most
    of it), less than the hop to a worker thread that FastAPI gives a plain-function dependency."""
    if credentials is None:
        raise _unauthorized("missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(credentials.credentials)
    except InvalidToken:
        raise _unauthorized("invalid or expired token") from None


def require(*kinds: TokenKind, scopes: Iterable[str] = ()) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting only callers of these kinds holding every one of ``scopes`` (a
    coroutine, like ``authenticate``, so that it runs on the event loop)."""
    needed = frozenset(scopes)

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.kind not in kinds:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"{principal.kind} tokens may not call this"
            )
        missing = needed - principal.scopes
        if missing:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"missing scope: {' '.join(sorted(missing))}"
            )
        return principal

    return dependency
