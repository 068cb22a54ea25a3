"""Throughput of 1, 2 and 4 ``weft worker``s on one machine against the Civitai simulator, next to
the same batch run in one process (``weft civitai generate --batch``, SQLite store): the
baseline, measured in the same run.

Every configuration gets a fresh simulator process (``weft civitai simulate``, its lifecycle
shortened by ``--step-seconds``) and, for workers, a fresh database on a throwaway PostgreSQL
server started for the run with ``fsync`` on (``weft.testing.postgres``). Workers are started
and ready first; the clock runs from ``--enqueue`` to the end of ``--watch`` (every row
finished, its images saved, the results file written). Reported per configuration: wall time,
rows per second and its ratio to the in-process baseline, CPU per row of the weft processes
(worker or batch process; PostgreSQL's own CPU is not counted), and each worker's start-up time
(spawn to "ready"). After each run the simulator's counters must show one workflow per row and
none twice, or the row says so.

Run: ``python bench/bench_workers.py [ROWS] [CONCURRENCY]`` (default 300 rows, 16 rows at once
per worker and for the baseline). The cost of the PostgreSQL run store per step next to SQLite
is ``bench/bench_store.py``. On a 2-core machine the processes compete for the cores: more
workers there buy no throughput, they show what the queue costs; spread them over machines.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-workers-token"
ROWS, CONCURRENCY = 300, 16
STEP_SECONDS, WAIT_UNIT = "0.05", "0.02"
BOUND = 900.0  # seconds any one phase may take


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WEFT_STORE", "CIVITAI_API_TOKEN")}
    env.update(PYTHONPATH=str(REPO / "src"), PYTHONUNBUFFERED="1", **extra)
    return env


def _weft(*args: str) -> list[str]:
    return [sys.executable, "-m", "weft", *args]


@contextlib.contextmanager
def simulator(folder: Path) -> Iterator[tuple[str, dict[str, object]]]:
    """A simulator process; the dict receives its counters when it stops."""
    proc = subprocess.Popen(
        _weft("civitai", "simulate", "--port", "0", "--token", TOKEN, "--balance", "100000000",
              "--step-seconds", STEP_SECONDS, "--wait-unit", WAIT_UNIT, "--summary"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), cwd=folder,
    )  # fmt: skip
    assert proc.stdout is not None
    match = re.search(r"(http://127\.0\.0\.1:\d+)", proc.stdout.readline())
    assert match, "the simulator did not start"
    summary: dict[str, object] = {}
    try:
        yield match.group(1), summary
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        for line in out.splitlines():
            if line.startswith("summary: "):
                summary.update(json.loads(line[len("summary: ") :]))


def _check(summary: dict[str, object], rows: int) -> str:
    by_external_id = summary.get("workflowsByExternalId")
    if not isinstance(by_external_id, dict):
        return "no simulator counters"
    twice = sum(1 for ids in by_external_id.values() if len(ids) > 1)
    if summary.get("workflows") != rows or len(by_external_id) != rows or twice:
        return f"{summary.get('workflows')} workflows for {rows} rows, {twice} twice"
    return "ok"


@dataclass
class Result:
    name: str
    wall: float
    cpu: float  # seconds, weft processes
    check: str
    startups: list[float]


def _cpu(usage: os.struct_rusage | None) -> float:
    return 0.0 if usage is None else usage.ru_utime + usage.ru_stime


def _wait(proc: subprocess.Popen[bytes]) -> tuple[int, os.struct_rusage]:
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage


def in_process(folder: Path, rows: Path, concurrency: int, count: int) -> Result:
    with simulator(folder) as (base, summary):
        start = time.perf_counter()
        proc = subprocess.Popen(
            _weft("civitai", "generate", "--batch", str(rows), "--api-base", base, "--token",
                  TOKEN, "--store", str(folder / "runs.sqlite3"), "--concurrency",
                  str(concurrency), "--out", str(folder / "out-baseline"), "--json"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), cwd=folder,
        )  # fmt: skip
        code, usage = _wait(proc)
        wall = time.perf_counter() - start
    check = _check(summary, count) if code == 0 else f"exit {code}"
    return Result("in-process batch (SQLite)", wall, _cpu(usage), check, [])


def with_workers(
    folder: Path, rows: Path, url: str, workers: int, concurrency: int, count: int
) -> Result:
    with simulator(folder) as (base, summary):
        procs, startups = [], []
        for n in range(workers):
            log = folder / f"w{workers}-{n}.log"
            begun = time.perf_counter()
            with log.open("wb") as err:
                procs.append(subprocess.Popen(
                    _weft("worker", "--store", url, "--name", f"w{n}", "--concurrency",
                          str(concurrency)),
                    stdout=subprocess.DEVNULL, stderr=err, env=_env(CIVITAI_API_TOKEN=TOKEN),
                    cwd=folder,
                ))  # fmt: skip
            while " ready: " not in log.read_text():
                if procs[-1].poll() is not None or time.perf_counter() - begun > BOUND:
                    raise RuntimeError(f"worker {n} did not start: {log.read_text()}")
                time.sleep(0.01)
            startups.append(time.perf_counter() - begun)
        generate = ["civitai", "generate", "--batch", str(rows), "--store", url, "--api-base",
                    base, "--out", str(folder / f"out-{workers}")]  # fmt: skip
        start = time.perf_counter()
        enqueue = subprocess.run(_weft(*generate, "--enqueue"), env=_env(), cwd=folder,
                                 capture_output=True, timeout=BOUND)  # fmt: skip
        watch = subprocess.run(_weft(*generate, "--watch"), env=_env(), cwd=folder,
                               capture_output=True, timeout=BOUND)  # fmt: skip
        wall = time.perf_counter() - start
        cpu = 0.0
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            cpu += _cpu(_wait(proc)[1])
    code = enqueue.returncode or watch.returncode
    check = _check(summary, count) if code == 0 else f"exit {code}: {watch.stderr[-300:]!r}"
    name = f"{workers} worker{'s' if workers > 1 else ''} (PostgreSQL)"
    return Result(name, wall, cpu, check, startups)


def main() -> int:
    from weft.testing.postgres import PostgresUnavailable, fresh_database, running_postgres

    count = int(sys.argv[1]) if len(sys.argv) > 1 else ROWS
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else CONCURRENCY
    print(f"workers: {count} Civitai rows (SD1 64x64, simulator step {STEP_SECONDS}s), "
          f"{concurrency} rows at once per process, {os.cpu_count()} CPUs")  # fmt: skip
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="weft-bench-workers-") as tmp:
        folder = Path(tmp)
        rows = folder / "rows.jsonl"
        rows.write_text("".join(
            json.dumps({"modelVersionId": 1001, "prompt": f"bench row {i}", "width": 64,
                        "height": 64}) + "\n" for i in range(count)
        ))  # fmt: skip
        results.append(in_process(folder, rows, concurrency, count))
        try:
            with running_postgres(fsync=True) as server:
                for workers in (1, 2, 4):
                    url = fresh_database(server, f"bench{workers}")
                    results.append(with_workers(folder, rows, url, workers, concurrency, count))
        except PostgresUnavailable as exc:
            print(f"  (workers not measured: {exc})")
    base = results[0].wall
    print(f"  {'':<28}{'wall':>8}{'rows/s':>9}{'ratio':>8}{'CPU/row':>10}  start-up   check")
    for r in results:
        startup = ", ".join(f"{s:.1f}s" for s in r.startups) or "-"
        print(f"  {r.name:<28}{r.wall:>7.1f}s{count / r.wall:>9.1f}{base / r.wall:>7.2f}×"
              f"{r.cpu / count * 1000:>8.1f}ms  {startup:<9}  {r.check}")  # fmt: skip
    print("  ratio = rows/s over the in-process baseline's; CPU/row = the weft processes' own")
    return 0 if all(r.check == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
