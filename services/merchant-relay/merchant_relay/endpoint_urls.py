"""Which webhook URLs a merchant may register: the relay POSTs to them, so it must not become a
way into the platform's own network (server-side request forgery).

Under the public rules (everywhere but development, see ``api_settings``) a URL is accepted
only when it is ``https``, names no user or password, uses the default port (443: no probing of
other services' ports), has no fragment, names a host of at least two labels (a bare name such
as ``vault-service`` would resolve inside the platform's network) and every address the host
resolves to is a public unicast address: not private, loopback, link-local (169.254.0.0/16,
the cloud metadata address among them), multicast, reserved, unspecified, shared (100.64/10)
or otherwise not global, including IPv4 addresses hidden in IPv6 ones (``::ffff:127.0.0.1``,
6to4, Teredo). An IP literal is held to the same rule. A host that does not resolve is refused.
Under the local rules (development) http, any port and any address are allowed; a user or
password in the URL never is.

The check at registration keeps a merchant from naming an inner address; the delivery
pipeline must check the addresses again when it connects (``refusal_of_addresses``), since a
name may resolve elsewhere later (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_S = 5.0


class UnsafeEndpoint(ValueError):
    """The URL may not be registered; the message says why, without repeating the URL."""


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system's resolver, in a worker thread)."""
    infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _embedded(address: IPAddress) -> list[IPAddress]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    inner = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
    return [found for found in inner if found is not None]


def refusal_of_address(address: IPAddress) -> str | None:
    """Why a webhook may not be sent to ``address``; None for a public unicast address."""
    for candidate in (*_embedded(address), address):  # the hidden IPv4 address first: it is the target
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_link_local:
            return "a link-local address"
        if candidate.is_multicast:
            return "a multicast address"
        if candidate.is_private or candidate.is_reserved or candidate.is_unspecified:
            return "a private or reserved address"
        if not candidate.is_global:
            return "an address that is not public"
    return None


def refusal_of_addresses(addresses: Iterable[str]) -> str | None:
    found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    if not found:
        return "the host does not resolve"
    return next((reason for reason in map(refusal_of_address, found) if reason), None)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def check_endpoint_url(url: str, *, local_allowed: bool, resolve: Resolver = system_resolver) -> str:
    """``url`` when a merchant may register it (see the module's doc); UnsafeEndpoint if not."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeEndpoint(f"the URL is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise UnsafeEndpoint("the URL's port is not a port") from None
    allowed_schemes = ("https", "http") if local_allowed else ("https",)
    if parts.scheme not in allowed_schemes:
        raise UnsafeEndpoint("the URL must be https" if not local_allowed else "the URL must be http(s)")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeEndpoint("the URL may not hold a user name or password")
    host = parts.hostname
    if not host:
        raise UnsafeEndpoint("the URL names no host")
    if local_allowed:
        return url
    if port not in (None, 443):
        raise UnsafeEndpoint("the URL must use the default https port (443)")
    if parts.fragment:
        raise UnsafeEndpoint("the URL may not have a fragment")
    literal = _literal(host)
    if literal is not None:
        reason = refusal_of_address(literal)
    elif "." not in host.strip("."):
        reason = "a host name of one label"
    else:
        reason = refusal_of_addresses(await _resolved(host, resolve))
    if reason is not None:
        raise UnsafeEndpoint(f"webhooks are only sent to public hosts; this one is {reason}")
    return url


async def _resolved(host: str, resolve: Resolver) -> list[str]:
    try:
        return await asyncio.wait_for(resolve(host, 443), RESOLVE_TIMEOUT_S)
    except (OSError, UnicodeError, TimeoutError):
        return []
