"""Large response bodies with the run store on: CPU against a plain aiohttp loop, store growth.

    python bench/bench_large_bodies.py [--sizes 1,10] [--steps 5] [--repeat 3]

A loopback server (its own process, so its CPU is not counted) answers ``GET /body/{i}`` with a
JSON body of the given size in MB (a list of small objects, different for each ``i``). Three
clients fetch ``--steps`` such bodies, one after the other, and their CPU time
(``time.process_time``: every thread, the store's flusher included) is compared:

- ``plain``: an aiohttp session, ``GET`` then ``await response.json()`` — the baseline;
- ``weft``: ``weft.run_async`` of a workflow whose steps each output ``$response.body``, no store;
- ``weft+rec``: the same with a recorder that takes every record and keeps none (the engine's
  own cost of recording: it builds a state per step, secrets masked);
- ``weft+store``: the same with a fresh SQLite run store (durability ``normal``).

``store`` = (weft+store − weft+rec) / plain is what the store itself adds.

Every later state holds the earlier steps' outputs: a store that wrote them again at every
checkpoint would cost a multiple of the plain loop and grow by the bodies times the steps.
Printed: CPU ratios against ``plain`` (medians over ``--repeat``) and the store's size after
the run divided by the bytes of body received. Target: weft+store ≤ 1.5× plain at 1 MB and
10 MB; store growth proportional to new data (≈ 1× the bodies, less once compressed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OPENAPI = """openapi: 3.1.0
info: {title: bodies, version: '1'}
servers: [{url: 'http://127.0.0.1'}]
paths:
  /body/{i}:
    get:
      operationId: getBody
      parameters: [{name: i, in: path, required: true, schema: {type: integer}}]
"""


def arazzo(steps: int) -> str:
    lines = [
        "arazzo: 1.0.1",
        "info: {title: bodies, version: '1'}",
        "sourceDescriptions: [{name: api, url: ./api.openapi.yaml, type: openapi}]",
        "workflows:",
        "  - workflowId: fetch",
        "    steps:",
    ]
    for i in range(steps):
        lines += [
            f"      - stepId: fetch{i}",
            "        operationId: getBody",
            f"        parameters: [{{name: i, in: path, value: {i}}}]",
            "        successCriteria: [{condition: $statusCode == 200}]",
            "        outputs: {body: $response.body}",
        ]
    lines.append(f"    outputs: {{last: $steps.fetch{steps - 1}.outputs.body.n}}")
    return "\n".join(lines) + "\n"


def body(i: int, megabytes: float) -> bytes:
    import orjson

    item = {"id": 0, "name": "item", "tags": ["alpha", "beta"], "value": 1.5, "step": i}
    one = len(orjson.dumps(item)) + 1
    count = int(megabytes * 1_000_000 / one)
    items = [{**item, "id": k, "name": f"item {k} of step {i}"} for k in range(count)]
    return orjson.dumps({"n": i, "items": items})


# --------------------------------------------------------------------------- server


def serve(megabytes: float, steps: int) -> None:
    from aiohttp import web

    bodies = [body(i, megabytes) for i in range(steps)]

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=bodies[int(request.match_info["i"])], content_type="application/json"
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/body/{i}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"http://127.0.0.1:{port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


class Server:
    def __init__(self, megabytes: float, steps: int) -> None:
        argv = [sys.executable, __file__, "--serve", str(megabytes), "--steps", str(steps)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


# --------------------------------------------------------------------------- clients


async def plain(url: str, steps: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        start = time.process_time()
        for i in range(steps):
            async with session.get(f"{url}/body/{i}") as response:
                data = await response.json()
                assert data["n"] == i
        return time.process_time() - start


class Discard:
    """A recorder that keeps nothing (the engine still builds every record and state)."""

    def run_started(self, run_id: str, **kwargs: Any) -> None: ...
    def request_sending(self, run_id: str, **kwargs: Any) -> None: ...
    def attempt_finished(self, run_id: str, **kwargs: Any) -> None: ...
    def checkpoint(self, run_id: str, **kwargs: Any) -> None: ...
    def run_finished(self, run_id: str, **kwargs: Any) -> None: ...
    def flush(self) -> None: ...
    def ensure_started(self, run_id: str) -> None: ...


async def weft(url: str, doc: Path, store_path: Path | None, discard: bool = False) -> float:
    from weft import run_async
    from weft.document import load
    from weft.effects.aiohttp_transport import AiohttpTransport
    from weft.store import open_store

    loaded = load(str(doc))
    transport = AiohttpTransport()
    store = open_store(store_path) if store_path is not None else None
    recorder: Any = Discard() if discard else store
    try:
        start = time.process_time()
        result = await run_async(
            loaded, "fetch", {}, servers={"api": url}, recorder=recorder, transport=transport
        )
        if store is not None:
            store.close()  # its last writes count
        elapsed = time.process_time() - start
        assert result.status == "succeeded", result.error
        return elapsed
    finally:
        await transport.close()
        if store is not None:
            store.close()


def store_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def measure(megabytes: float, steps: int, repeat: int) -> dict[str, Any]:
    server = Server(megabytes, steps)
    times: dict[str, list[float]] = {"plain": [], "weft": [], "weft+rec": [], "weft+store": []}
    growth: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="weft-bench-bodies-") as tmp:
            doc = Path(tmp) / "flow.arazzo.yaml"
            (Path(tmp) / "api.openapi.yaml").write_text(OPENAPI)
            doc.write_text(arazzo(steps))
            received = sum(len(body(i, megabytes)) for i in range(steps))
            asyncio.run(plain(server.url, steps))  # warm up: imports, connection setup
            asyncio.run(weft(server.url, doc, None))
            for n in range(repeat):
                times["plain"].append(asyncio.run(plain(server.url, steps)))
                times["weft"].append(asyncio.run(weft(server.url, doc, None)))
                times["weft+rec"].append(asyncio.run(weft(server.url, doc, None, discard=True)))
                path = Path(tmp) / f"runs-{n}.sqlite3"
                times["weft+store"].append(asyncio.run(weft(server.url, doc, path)))
                growth.append(store_bytes(path) / received)
    finally:
        server.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"cpu": med, "growth": statistics.median(growth)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,10", help="body sizes in MB")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.steps)
        return 0
    print(f"{args.steps} steps per run, each a GET answered by a JSON body; CPU seconds (median)")
    print(f"{'body':>7}  {'plain':>7}  {'weft':>7}  {'weft+rec':>8}  {'weft+store':>10}"
          f"  {'total':>7}  {'engine':>7}  {'store':>7}  {'store growth':>12}")  # fmt: skip
    ok = True
    for size in (float(s) for s in args.sizes.split(",")):
        m = measure(size, args.steps, args.repeat)
        cpu = m["cpu"]
        ratio = cpu["weft+store"] / cpu["plain"]
        ok = ok and ratio <= 1.5
        engine = cpu["weft+rec"] / cpu["plain"]
        store = (cpu["weft+store"] - cpu["weft+rec"]) / cpu["plain"]
        print(
            f"{size:>5g}MB  {cpu['plain']:>7.3f}  {cpu['weft']:>7.3f}  {cpu['weft+rec']:>8.3f}"
            f"  {cpu['weft+store']:>10.3f}  {ratio:>6.2f}×  {engine:>6.2f}×  {store:>6.2f}×"
            f"  {m['growth']:>11.2f}×"
        )
    print(
        "  total = weft+store / plain (target ≤ 1.5×); engine = weft+rec / plain (the engine"
        " recording, no store); store = (weft+store − weft+rec) / plain;"
        f" store growth = store bytes / body bytes received ({os.cpu_count()} CPUs)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
