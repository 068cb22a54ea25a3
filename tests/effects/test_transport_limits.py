"""Transport limits: a server that never answers, stalls mid-body or drips a byte at a time
ends the request (timeout); a body over the cap, counted after decompression (a gzip bomb
announces only its compressed length), ends it too (too_large); the pool and the open-files
limit."""

from __future__ import annotations

import asyncio
import gzip
import resource

import pytest
from aiohttp import web

from tests.effects.support import raw_server, serve
from weft.effects import HttpRequest, TransportError, TransportErrorKind
from weft.effects.aiohttp_transport import AiohttpTransport
from weft.effects.http_options import FDS_PER_CONNECTION_MARGIN, HttpOptions, fd_budget
from weft.errors import UsageError

FAST = HttpOptions.build(connect_timeout=2, read_timeout=0.5, request_timeout=5)


async def _fails(options: HttpOptions, url: str) -> TransportError:
    async with AiohttpTransport(options) as transport:
        with pytest.raises(TransportError) as caught:
            await transport.send(HttpRequest("GET", url + "/x"))
    return caught.value


async def test_a_server_that_never_answers_hits_the_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async with raw_server(silent) as base:
        error = await _fails(FAST, base)
    assert error.kind == TransportErrorKind.TIMEOUT
    assert "sent nothing for 0.5 s (read timeout)" in error.detail


async def test_a_server_that_stalls_mid_body_hits_the_read_timeout() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        await writer.drain()
        await asyncio.sleep(30)

    async with raw_server(stall) as base:
        error = await _fails(FAST, base)
    assert error.kind == TransportErrorKind.TIMEOUT
    assert "read timeout" in error.detail


async def test_a_server_that_drips_hits_the_request_timeout() -> None:
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(1000):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.2)  # well within the read timeout, every time

    options = HttpOptions.build(FAST, read_timeout=1, request_timeout=1)
    async with raw_server(drip) as base:
        error = await _fails(options, base)
    assert error.kind == TransportErrorKind.TIMEOUT
    assert "took longer than 1 s (request timeout)" in error.detail


def _bomb_app(decoded: int) -> web.Application:
    compressed = gzip.compress(b"\0" * decoded, compresslevel=9)

    async def bomb(request: web.Request) -> web.Response:
        return web.Response(
            body=compressed,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/octet-stream"},
        )

    async def plain(request: web.Request) -> web.Response:
        return web.Response(body=b"y" * 5000)

    app = web.Application()
    app.router.add_get("/bomb", bomb)
    app.router.add_get("/plain", plain)
    return app


async def test_the_size_cap_counts_decompressed_bytes() -> None:
    cap = 1024 * 1024
    options = HttpOptions.build(max_response_bytes=cap)
    async with serve(_bomb_app(16 * cap)) as base, AiohttpTransport(options) as transport:
        with pytest.raises(TransportError) as caught:
            await transport.send(HttpRequest("GET", base + "/bomb"))
        assert caught.value.kind == TransportErrorKind.TOO_LARGE
        assert f"larger than the cap of {cap} bytes after gzip decompression" in (
            caught.value.detail
        )
        # a body under the cap, compressed or not, arrives whole
        small = HttpOptions.build(max_response_bytes=16 * cap)
        async with AiohttpTransport(small) as roomy:
            response = await roomy.send(HttpRequest("GET", base + "/bomb"))
        assert len(response.body) == 16 * cap and set(response.body) == {0}


async def test_a_declared_length_over_the_cap_fails_before_reading() -> None:
    options = HttpOptions.build(max_response_bytes=1000)
    async with serve(_bomb_app(10)) as base, AiohttpTransport(options) as transport:
        with pytest.raises(TransportError) as caught:
            await transport.send(HttpRequest("GET", base + "/plain"))
    assert caught.value.kind == TransportErrorKind.TOO_LARGE
    assert "5000 bytes (cap 1000)" in caught.value.detail


def test_options_are_checked_and_zero_means_no_limit() -> None:
    options = HttpOptions.build(connect_timeout=0, read_timeout=2.5, request_timeout=0)
    assert (options.connect_timeout, options.read_timeout, options.request_timeout) == (
        None,
        2.5,
        None,
    )
    for bad in ({"read_timeout": -1}, {"max_response_bytes": 0}, {"proxy": "ftp://x"}):
        with pytest.raises(UsageError):
            HttpOptions.build(**bad)  # type: ignore[arg-type]
    assert HttpOptions().pooled(500).limit == 500
    assert HttpOptions().pooled(5).limit == HttpOptions().limit


def test_the_pool_is_sized_from_the_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        # a low soft limit is raised up to the hard limit when that is enough
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        wanted = 256  # needs 256 + the margin: more than the soft limit
        usable, notice = fd_budget(wanted)
        assert (usable, notice) == (wanted, None)
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= wanted + FDS_PER_CONNECTION_MARGIN
        # beyond the hard limit: the pool shrinks and a notice says so
        too_many = hard + 1000 if hard != resource.RLIM_INFINITY else None
        if too_many is not None:
            transport = AiohttpTransport(HttpOptions().pooled(too_many))
            assert transport.options.limit == hard - FDS_PER_CONNECTION_MARGIN
            assert transport.notice is not None
            assert f"concurrency {too_many}" in transport.notice
            assert "ulimit -n" in transport.notice
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
