"""The pool: a request waiting for a free connection is not timed (the timeouts measure the
network, not the queue), and the environment's proxy settings are read when the transport is
made, not at every request."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from tests.effects.support import forwarding_proxy, hello_app, serve
from weft.effects import HttpRequest
from weft.effects.aiohttp_transport import AiohttpTransport
from weft.effects.http_options import HttpOptions


def _held_app(release: asyncio.Event) -> web.Application:
    async def held(request: web.Request) -> web.Response:
        seconds = request.query.get("seconds")
        if seconds is None:
            await release.wait()
        else:
            await asyncio.sleep(float(seconds))
        return web.json_response({"held": True})

    async def quick(request: web.Request) -> web.Response:
        return web.json_response({"quick": True})

    app = web.Application()
    app.router.add_get("/held", held)
    app.router.add_get("/quick", quick)
    return app


async def test_waiting_for_a_pooled_connection_does_not_count_against_the_timeout() -> None:
    options = HttpOptions.build(request_timeout=1.5, limit=1)
    async with serve(_held_app(asyncio.Event())) as base, AiohttpTransport(options) as transport:
        first = asyncio.ensure_future(transport.send(HttpRequest("GET", base + "/held?seconds=1")))
        await asyncio.sleep(0.1)  # the only connection is taken for a second
        second = asyncio.ensure_future(transport.send(HttpRequest("GET", base + "/held?seconds=1")))
        done = await asyncio.gather(first, second)
    # the second waited ~0.9 s for the connection, then took 1 s: 1.9 s in all, but its
    # timeout (1.5 s) counts from the moment it had a connection
    assert [r.status for r in done] == [200, 200]
    assert done[1].elapsed < 1.5  # its own time is its exchange, not its wait in the queue


async def test_a_request_slower_than_its_timeout_still_times_out_in_the_queue_too() -> None:
    release = asyncio.Event()
    options = HttpOptions.build(request_timeout=0.5, limit=1)
    async with serve(_held_app(release)) as base, AiohttpTransport(options) as transport:
        first = asyncio.ensure_future(transport.send(HttpRequest("GET", base + "/held")))
        with pytest.raises(Exception) as caught:
            await first
        release.set()
        after = await transport.send(HttpRequest("GET", base + "/quick"))
    assert "request timeout" in str(caught.value)
    assert after.status == 200  # the connection (and its slot) came back to the pool


async def test_proxy_variables_are_read_when_the_transport_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    async with serve(hello_app()) as base, forwarding_proxy() as (proxy, log):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        async with AiohttpTransport() as transport:
            await transport.send(HttpRequest("GET", base + "/one"))
            monkeypatch.delenv("HTTP_PROXY")  # later changes do not reach this transport
            await transport.send(HttpRequest("GET", base + "/two"))
        async with AiohttpTransport() as transport:
            await transport.send(HttpRequest("GET", base + "/three"))
    assert log.forwarded == [f"GET {base}/one", f"GET {base}/two"]
