"""A big batch: 100,000 rows at ``--concurrency 20000`` through ``weft batch``'s command core.

    python bench/bench_big_batch.py [--rows 10000,100000] [--concurrency 20000]
                                    [--delay 8] [--admit 16]

Each row runs a two-step workflow (``GET /items/{id}``, then ``POST /orders`` carrying an
``Idempotency-Key`` from the run id, as Civitai's submit carries its ``externalId``) through
:func:`weft.batch.commands.run_batch_command` — what ``weft batch FLOW --inputs ROWS
--concurrency N`` runs: the run store on (a fresh SQLite file, durability ``normal``), the
results file, the progress lines (to a file). The server is a canned-response loopback server in
its own process (raw asyncio, keep-alive, its open-files limit raised to the hard limit, a
listen backlog of ``somaxconn``) that holds every answer ``--delay`` seconds, like a long-poll:
that is what keeps tens of thousands of runs in flight at once.

Printed per batch: runs, concurrency asked and in force (the open-files limit may cap it; the
notice is shown), the most runs in flight at once, seconds, runs/s, failed rows (from the
results file; must be 0), the event loop's longest stall (a 10 ms timer's worst lateness), the
child's peak RSS and that peak per run in flight. Memory bounded by the runs in flight, not the
rows: the 100,000-row batch's peak RSS is about the 10,000-row one's (compare the KB per run in
flight; with ``--rows 10000,100000 --concurrency 5000`` both hold 5,000 in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import machine, measure, table

OPENAPI = """openapi: 3.1.0
info: {title: shop, version: '1'}
servers: [{url: 'http://127.0.0.1:9'}]
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses: {'200': {description: ok}}
  /orders:
    post:
      operationId: createOrder
      parameters: [{name: Idempotency-Key, in: header, required: true, schema: {type: string}}]
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses: {'200': {description: ok}}
"""

ARAZZO = """arazzo: 1.0.1
info: {title: big batch, version: '1'}
sourceDescriptions: [{name: shop, url: ./shop.openapi.yaml, type: openapi}]
workflows:
  - workflowId: order
    inputs:
      type: object
      required: [id, key]
      properties: {id: {type: integer}, key: {type: string}}
    steps:
      - stepId: item
        operationId: getItem
        parameters: [{name: id, in: path, value: $inputs.id}]
        successCriteria: [{condition: $statusCode == 200}]
        outputs: {status: $response.body#/status}
      - stepId: order
        operationId: createOrder
        parameters: [{name: Idempotency-Key, in: header, value: $inputs.key}]
        requestBody:
          contentType: application/json
          payload: {item: $inputs.id, seen: $steps.item.outputs.status}
        successCriteria: [{condition: $statusCode == 200}]
        outputs: {id: $response.body#/id}
    outputs: {order: $steps.order.outputs.id}
"""

BODY = b'{"id":"ord_1","status":"ok"}'


# --------------------------------------------------------------------------- the server


class _Canned(asyncio.Protocol):
    """Answers every request (Content-Length bodies) with BODY after ``delay`` seconds."""

    stats: ClassVar[dict[str, int]] = {"requests": 0, "connections": 0, "open": 0, "max_open": 0}
    delay: ClassVar[float] = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""
        s = self.stats
        s["connections"] += 1
        s["open"] += 1
        s["max_open"] = max(s["max_open"], s["open"])

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats["open"] -= 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.stats["requests"] += 1
            answer = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
            )
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, self._send, answer)
            else:
                self._send(answer)

    def _send(self, answer: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(answer)


def serve(delay: float) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    _Canned.delay = delay
    try:
        backlog = int(Path("/proc/sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        backlog = 4096

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Canned, "127.0.0.1", 0, backlog=backlog)
        port = server.sockets[0].getsockname()[1]
        print(f"http://127.0.0.1:{port}", flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        print("stats " + json.dumps(_Canned.stats), flush=True)

    asyncio.run(main())


class Server:
    def __init__(self, delay: float) -> None:
        argv = [sys.executable, __file__, "--serve", "--delay", str(delay)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        self.stats: dict[str, int] = {}

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.stdout is not None
        for line in self.proc.stdout.read().splitlines():
            if line.startswith("stats "):
                self.stats = json.loads(line[6:])
        self.proc.wait()


# --------------------------------------------------------------------------- the child


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """``run_batch_command`` over the rows, with a loop-stall monitor and an in-flight count
    riding on the row hooks."""
    from weft.batch.commands import run_batch_command
    from weft.batch.results import RowResult
    from weft.batch.runner import BatchOptions, RowHooks
    from weft.effects.http_options import HttpOptions
    from weft.engine.options import RunOptions

    watch = {"in_flight": 0, "max_in_flight": 0, "max_stall": 0.0, "stalls_over_1s": 0}
    monitor: list[asyncio.Future[None]] = []
    collections: dict[int, list[float]] = {}  # generation -> [count, seconds, longest]
    gc_started = [0.0]

    def collected(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
            return
        took = time.perf_counter() - gc_started[0]
        entry = collections.setdefault(info["generation"], [0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += took
        entry[2] = max(entry[2], took)

    gc.callbacks.append(collected)

    async def stalls() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            late = loop.time() - before - 0.01
            if late > watch["max_stall"]:
                watch["max_stall"] = late
            if late > 1.0:
                watch["stalls_over_1s"] += 1

    def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
        if not monitor:
            monitor.append(asyncio.ensure_future(stalls()))
        watch["in_flight"] += 1
        watch["max_in_flight"] = max(watch["max_in_flight"], watch["in_flight"])
        return {**values, "key": run_id}

    async def finish(row: RowResult) -> RowResult:
        watch["in_flight"] -= 1
        return row

    async def close() -> None:
        for task in monitor:
            task.cancel()

    err = io.StringIO()
    start, cpu = time.perf_counter(), time.process_time()
    code = run_batch_command(
        spec["document"],
        spec["rows"],
        workflow_id="order",
        options=RunOptions.build(servers={"shop": spec["url"]}),
        batch=BatchOptions(concurrency=spec["concurrency"], admit_per_turn=spec["admit"]),
        hooks=RowHooks(prepare_inputs=prepare, finish_row=finish, close=close),
        store=spec["store"],
        out=spec["out"],
        stderr=err,
        http=HttpOptions(),
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    statuses: dict[str, int] = {}
    first_error = None
    with open(spec["out"], "rb") as results:
        for line in results:
            row = json.loads(line)
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
            if row["status"] != "succeeded" and first_error is None:
                first_error = row.get("error")
    notices = [line for line in err.getvalue().splitlines() if line.startswith("notice:")]
    gc.callbacks.remove(collected)
    return {
        "gc": {str(k): [int(v[0]), round(v[1], 3), round(v[2], 3)] for k, v in collections.items()},
        "code": code,
        "seconds": seconds,
        "cpu": cpu,
        "statuses": statuses,
        "first_error": first_error,
        "notices": notices,
        **watch,
    }


# --------------------------------------------------------------------------- the parent


def one(rows: int, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="weft-bench-big-") as tmp:
        folder = Path(tmp)
        (folder / "shop.openapi.yaml").write_text(OPENAPI)
        doc = folder / "flow.arazzo.yaml"
        doc.write_text(ARAZZO)
        rows_path = folder / "rows.jsonl"
        with rows_path.open("w") as f:
            for i in range(rows):
                f.write(f'{{"id": {i + 1}}}\n')
        server = Server(args.delay)
        try:
            spec = {
                "document": str(doc),
                "rows": str(rows_path),
                "url": server.url,
                "concurrency": args.concurrency,
                "admit": args.admit,
                "store": str(folder / "runs.sqlite3"),
                "out": str(folder / "results.jsonl"),
            }
            argv = [sys.executable, __file__, "--child", json.dumps(spec)]
            m = measure(argv, timeout=args.timeout, env=dict(os.environ))
        finally:
            server.close()
        if m.returncode != 0 or m.timed_out:
            tail = (m.stderr.strip() or m.stdout.strip())[-600:]
            raise SystemExit(f"the {rows}-row batch failed (exit {m.returncode}): {tail}")
        out: dict[str, Any] = json.loads(m.stdout.strip().splitlines()[-1])
        out["rss_kb"] = m.max_rss_kb
        out["server"] = server.stats
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--rows", default="10000,100000", help="batch sizes, comma-separated")
    parser.add_argument("--concurrency", type=int, default=20000)
    parser.add_argument("--delay", type=float, default=8.0, help="seconds each answer is held")
    parser.add_argument("--admit", type=int, default=16, help="runs started per loop turn")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.delay)
        return 0
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print(f"Big batch — {time.strftime('%Y-%m-%d %H:%M')}, {machine()}, open files {soft}/{hard}")
    print(
        f"two steps per run, answers held {args.delay:g} s, --concurrency {args.concurrency},"
        f" {args.admit} runs admitted per loop turn, store on (SQLite, normal)"
    )
    headers = ["rows", "concurrency", "max in flight", "seconds", "runs/s", "CPU s",
               "failed", "loop max stall (s)", "peak RSS (MB)", "KB per run in flight"]  # fmt: skip
    table_rows = []
    notes = []
    ok = True
    for rows in (int(r) for r in args.rows.split(",") if r):
        out = one(rows, args)
        failed = rows - out["statuses"].get("succeeded", 0)
        ok = ok and failed == 0 and out["code"] == 0
        in_flight = max(out["max_in_flight"], 1)
        table_rows.append(
            [
                str(rows),
                str(args.concurrency),
                str(out["max_in_flight"]),
                f"{out['seconds']:.1f}",
                f"{rows / out['seconds']:.0f}",
                f"{out['cpu']:.1f}",
                str(failed),
                f"{out['max_stall']:.2f}",
                f"{out['rss_kb'] / 1024:.0f}",
                f"{out['rss_kb'] / in_flight:.1f}",
            ]
        )
        for line in out["notices"]:
            notes.append(f"{rows} rows: {line}")
        if failed:
            notes.append(f"{rows} rows: first error: {out['first_error']}")
        notes.append(
            f"{rows} rows: server saw {out['server'].get('requests')} requests over"
            f" {out['server'].get('connections')} connections (at most"
            f" {out['server'].get('max_open')} open); stalls over 1 s: {out['stalls_over_1s']};"
            f" collections by generation [count, seconds, longest]: {out['gc']}"
        )
    print(table(headers, table_rows))
    for note in notes:
        print(note)
    print("target: zero failed rows; peak RSS bounded by the runs in flight, not the rows")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
