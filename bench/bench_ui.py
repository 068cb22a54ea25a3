"""``weft ui``'s run list stays fast on a large store: the first page of a 100,000-run store,
as a ratio against the store's own ``list_runs`` call for the same page, in the same run.

    python bench/bench_ui.py [--sizes 1000,100000] [--repeat 30]

The store is filled directly with SQL (``bench_store_list.fill``: three workflows, 10 % failed,
10 % running, a ``batch`` label per thousand runs). ``weft ui``'s application serves it on
127.0.0.1 from a thread of its own; a keep-alive HTTP client asks for each page ``--repeat``
times. Measured (median milliseconds): the HTML run list (``/``), its JSON (``/api/runs``), the
``failed`` filter, one batch's label, and the next page (``before`` = the first page's cursor);
the baseline is ``list_runs`` with the same filters and page size (51: a page of 50 and one to
know there is a next page). Printed: each page's time, the baseline's, and their ratio — the
cost of HTTP, rendering and escaping on top of the query — and each page's ratio to its time
at the smallest size (flat ≈ 1×: a page costs the same however many runs the store holds).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).parent))

from bench_store_list import fill

from weft.store import SqlRunStore, open_store
from weft.testing.threaded import LoopThread
from weft.ui import UiConfig, make_app

PAGE = 50


def median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm: statement caches, pages, connections
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def _start(store: SqlRunStore) -> tuple[object, int]:
    from aiohttp import web

    runner = web.AppRunner(make_app(UiConfig(store)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, int(port)


async def _stop(started: tuple[object, int]) -> None:
    await started[0].cleanup()  # type: ignore[attr-defined]


def measure(store: SqlRunStore, repeat: int) -> dict[str, tuple[float, float]]:
    """{page: (page ms, list_runs ms)}."""
    host: LoopThread[tuple[object, int]] = LoopThread("bench-ui", lambda: _start(store), _stop)
    _, port = host.start()
    connection = http.client.HTTPConnection("127.0.0.1", port)

    def get(path: str) -> Callable[[], object]:
        def call() -> bytes:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, (path, response.status, body[:200])
            return body

        return call

    first = store.list_runs(limit=PAGE + 1)
    cursor = first[PAGE - 1].cursor
    batch = first[-1].labels["batch"]  # a batch of 1,000 runs
    cases: dict[str, tuple[str, Callable[[], object]]] = {
        "list page": ("/", lambda: store.list_runs(limit=PAGE + 1)),
        "list JSON": ("/api/runs", lambda: store.list_runs(limit=PAGE + 1)),
        "failed": ("/?status=failed", lambda: store.list_runs(status="failed", limit=PAGE + 1)),
        "batch label": (
            f"/?label=batch%3D{quote(batch)}",
            lambda: store.list_runs(labels={"batch": batch}, limit=PAGE + 1),
        ),
        "next page": (
            f"/?before={quote(cursor)}",
            lambda: store.list_runs(limit=PAGE + 1, before=cursor),
        ),
    }
    try:
        return {
            name: (median_ms(get(path), repeat), median_ms(baseline, repeat))
            for name, (path, baseline) in cases.items()
        }
    finally:
        connection.close()
        host.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    base: dict[str, float] = {}
    print("weft ui run list (SQLite): median ms per page; ratio to list_runs; ratio to smallest")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp) / "runs.sqlite3")
            assert isinstance(store, SqlRunStore)
            fill(store, size)
            results = measure(store, args.repeat)
            store.close()
        print(f"  {size:>9,} runs:")
        for name, (page_ms, list_ms) in results.items():
            base.setdefault(name, page_ms)
            print(
                f"    {name:<12} {page_ms:7.2f} ms  list_runs {list_ms:6.2f} ms  "
                f"ratio {page_ms / list_ms:5.1f}×  vs {sizes[0]:,}: {page_ms / base[name]:4.1f}×"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
