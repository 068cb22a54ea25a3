"""Peak RSS of a client handed a gzip bomb: a body that is ``--decoded-mb`` MiB of zeros once
decompressed, served gzip-compressed with a Content-Length of its compressed size.

    python bench/bench_transport_limits.py [--decoded-mb 256] [--repeat 3]

Each measurement is a child process (``--child MODE URL``) whose peak RSS is ``ru_maxrss`` from
``os.wait4`` (the server lives in this process). Modes:

- ``idle``: imports weft and aiohttp, sends nothing (the fixed footprint, the baseline);
- ``whole``: a plain aiohttp ``resp.read()`` (what weft did before its decoded-size cap: the
  whole body decompressed in memory);
- ``weft``: ``AiohttpTransport`` with its default :class:`HttpOptions` (64 MiB decoded cap):
  the request ends with a ``too_large`` transport error.

The table shows medians and each mode's growth over ``idle``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import machine, measure, table


def bomb(decoded_mb: int) -> bytes:
    """``decoded_mb`` MiB of zeros, gzip-compressed in pieces (never whole in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    piece = b"\0" * (1024 * 1024)
    parts = [packer.compress(piece) for _ in range(decoded_mb)]
    parts.append(packer.flush())
    return b"".join(parts)


def serve(body: bytes) -> tuple[str, threading.Event]:
    from aiohttp import web

    ready = threading.Event()
    stop = threading.Event()
    where: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=body,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/octet-stream"},
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/bomb", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        where.append(f"http://127.0.0.1:{port}/bomb")
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await runner.cleanup()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    ready.wait()
    return where[0], stop


async def child(mode: str, url: str) -> str:
    import aiohttp

    from weft.effects import HttpRequest, TransportError
    from weft.effects.aiohttp_transport import AiohttpTransport

    if mode == "idle":
        return "idle"
    if mode == "whole":
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            body = await resp.read()
        return f"read {len(body)} bytes"
    async with AiohttpTransport() as transport:
        try:
            response = await transport.send(HttpRequest("GET", url))
        except TransportError as exc:
            return f"{exc.kind}: {exc.detail}"
    return f"read {len(response.body)} bytes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoded-mb", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "URL"))
    args = parser.parse_args()
    if args.child:
        print(asyncio.run(child(*args.child)))
        return
    body = bomb(args.decoded_mb)
    url, stop = serve(body)
    modes = ("idle", "whole", "weft")
    rss: dict[str, list[int]] = {m: [] for m in modes}
    said: dict[str, str] = {}
    try:
        for _ in range(args.repeat):
            for mode in modes:
                m = measure([sys.executable, __file__, "--child", mode, url], timeout=300)
                if m.returncode != 0:
                    raise SystemExit(f"{mode} failed: {m.stderr[-500:]}")
                rss[mode].append(m.max_rss_kb)
                said[mode] = m.stdout.strip()
    finally:
        stop.set()
    base = statistics.median(rss["idle"]) / 1024
    rows = []
    for mode in modes:
        peak = statistics.median(rss[mode]) / 1024
        rows.append([mode, f"{peak:.0f}", f"{peak - base:+.0f}", f"{peak / base:.2f}", said[mode]])
    print(f"gzip bomb: {len(body) / 1024:.0f} KiB compressed, {args.decoded_mb} MiB decoded")
    print(f"machine: {machine()}; medians of {args.repeat}")
    print(table(["mode", "peak RSS MiB", "vs idle", "ratio", "outcome"], rows))


if __name__ == "__main__":
    main()
