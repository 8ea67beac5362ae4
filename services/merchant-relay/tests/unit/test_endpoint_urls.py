"""Which webhook URLs may be registered: under the public rules only https on 443 to hosts whose
every address is public; the refusals cover loopback, private, link-local (cloud metadata),
IPv4 hidden in IPv6, names resolving to loopback (``127.1`` through the system's resolver), a name
with one private address among public ones, user info, other ports and bare names. Under the
local rules (development) a receiver on the developer's machine is allowed."""

from __future__ import annotations

import pytest
from relay_api_support import PUBLIC_HOST, resolve_test_hosts

from merchant_relay.endpoint_urls import UnsafeEndpoint, check_endpoint_url

REFUSED = [
    ("http://hooks.puddle.example/orders", "must be https"),
    ("https://127.0.0.1/orders", "loopback"),
    ("https://127.1/orders", "loopback"),  # the system's resolver reads it as 127.0.0.1
    ("https://2130706433/orders", "one label"),
    ("https://10.1.2.3/orders", "private"),
    ("https://192.168.0.10/orders", "private"),
    ("https://172.16.5.5/orders", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[::1]/orders", "loopback"),
    ("https://[::ffff:127.0.0.1]/orders", "loopback"),
    ("https://[fe80::1]/orders", "link-local"),
    ("https://[fc00::5]/orders", "private"),
    ("https://224.0.0.1/orders", "multicast"),
    ("https://0.0.0.0/orders", "private or reserved"),
    ("https://100.64.0.1/orders", "not public"),
    ("https://240.0.0.1/orders", "private or reserved"),
    ("https://localhost/orders", "one label"),
    ("https://sneaky.puddle.example/orders", "loopback"),
    ("https://metadata.puddle.example/orders", "link-local"),
    ("https://rebound.puddle.example/orders", "private"),
    ("https://vault-service/v1/buyers", "one label"),
    ("https://does-not-exist.invalid/orders", "does not resolve"),
    ("https://ada:secret@hooks.puddle.example/orders", "user name or password"),
    ("https://hooks.puddle.example:8443/orders", "default https port"),
    ("https://hooks.puddle.example:99999/orders", "not a port"),
    ("https://hooks.puddle.example/orders#frag", "fragment"),
    ("ftp://hooks.puddle.example/orders", "must be https"),
    ("https:///orders", "no host"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_public_rules_refuse_inner_and_odd_urls(url: str, reason: str) -> None:
    with pytest.raises(UnsafeEndpoint) as refused:
        await check_endpoint_url(url, local_allowed=False, resolve=resolve_test_hosts)
    assert reason in str(refused.value)
    assert url not in str(refused.value)


async def test_a_public_https_host_is_accepted() -> None:
    url = f"https://{PUBLIC_HOST}/webhooks/buybutton?shop=puddle"
    assert await check_endpoint_url(url, local_allowed=False, resolve=resolve_test_hosts) == url
    explicit_port = f"https://{PUBLIC_HOST}:443/webhooks"
    assert await check_endpoint_url(explicit_port, local_allowed=False, resolve=resolve_test_hosts)


async def test_local_rules_allow_a_receiver_on_this_machine_but_never_user_info() -> None:
    for url in ("http://127.0.0.1:9100/hooks", "http://localhost:9100/hooks", "https://[::1]:8443/"):
        assert await check_endpoint_url(url, local_allowed=True, resolve=resolve_test_hosts) == url
    with pytest.raises(UnsafeEndpoint):
        await check_endpoint_url("http://ada:pw@127.0.0.1:9100/", local_allowed=True)
    with pytest.raises(UnsafeEndpoint):
        await check_endpoint_url("file:///etc/passwd", local_allowed=True)
