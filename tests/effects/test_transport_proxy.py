"""Proxies: --proxy for http (forwarded) and https (CONNECT tunnel), HTTP_PROXY/HTTPS_PROXY from
the environment, NO_PROXY bypassing them; a proxy that is down is a connect error naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.effects.support import forwarding_proxy, hello_app, make_pki, serve, server_context
from weft.effects import HttpRequest, TransportError, TransportErrorKind
from weft.effects.aiohttp_transport import AiohttpTransport
from weft.effects.http_options import HttpOptions


@pytest.fixture(autouse=True)
def _no_ambient_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def test_explicit_proxy_forwards_http_requests() -> None:
    seen: list = []
    async with serve(hello_app(seen)) as base, forwarding_proxy() as (proxy, log):
        transport = AiohttpTransport(HttpOptions.build(proxy=proxy))
        first = await transport.send(HttpRequest("GET", base + "/a?x=1"))
        second = await transport.send(HttpRequest("POST", base + "/b", body=b"{}"))
        await transport.close()
    assert (first.status, second.status) == (200, 200)
    assert log.forwarded == [f"GET {base}/a?x=1", f"POST {base}/b"]
    assert [r.path for r in seen] == ["/a", "/b"]


async def test_https_goes_through_a_connect_tunnel(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    async with (
        serve(hello_app(), server_context(pki)) as base,
        forwarding_proxy() as (
            proxy,
            log,
        ),
    ):
        options = HttpOptions.build(proxy=proxy, ca_bundle=pki.ca)
        async with AiohttpTransport(options) as transport:
            response = await transport.send(HttpRequest("GET", base + "/secure"))
    assert response.status == 200
    assert log.tunnels == [base.removeprefix("https://")]
    assert log.forwarded == []  # the proxy saw no request: only the tunnel


async def test_environment_proxy_and_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve(hello_app()) as base, forwarding_proxy() as (proxy, log):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        async with AiohttpTransport() as transport:
            await transport.send(HttpRequest("GET", base + "/via-env"))
        assert log.forwarded == [f"GET {base}/via-env"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with AiohttpTransport() as transport:
            await transport.send(HttpRequest("GET", base + "/direct"))
        # NO_PROXY applies to --proxy too
        async with AiohttpTransport(HttpOptions.build(proxy=proxy)) as transport:
            await transport.send(HttpRequest("GET", base + "/direct-too"))
        assert log.forwarded == [f"GET {base}/via-env"]
        # and trust_env=False ignores the environment
        monkeypatch.delenv("NO_PROXY")
        async with AiohttpTransport(HttpOptions.build(trust_env=False)) as transport:
            await transport.send(HttpRequest("GET", base + "/untrusted-env"))
        assert log.forwarded == [f"GET {base}/via-env"]


async def test_a_proxy_that_is_down_is_a_connect_error_naming_it() -> None:
    async with forwarding_proxy() as (proxy, _log):
        pass  # closed: nothing listens there any more
    async with (
        serve(hello_app()) as base,
        AiohttpTransport(HttpOptions.build(proxy=proxy)) as transport,
    ):
        with pytest.raises(TransportError) as caught:
            await transport.send(HttpRequest("GET", base + "/x"))
    assert caught.value.kind == TransportErrorKind.CONNECT
    assert "proxy" in caught.value.detail
    assert proxy.removeprefix("http://") in caught.value.detail
