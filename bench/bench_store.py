"""Run store cost per step, for both durability settings, and store size after a long poll loop.

A "step" is what the engine records for one step attempt: for a resend-safe request (GET, or a
request with an idempotency key) one ``attempt_finished`` carrying the new state; for an unsafe
one (a POST without a key) a ``request_sending`` write-ahead first. With ``durability="normal"``
the unsafe step's two records are committed at once and the safe step's are buffered (written
every ~100 ms); with ``"strict"`` every record is committed (fsync) before the call returns. The
time includes the final flush (a loop this tight fits in one flush interval; in a real run each
~100 ms flush costs about a millisecond, spread over the steps of that interval).
Run: ``python bench/bench_store.py [ITERATIONS]`` (the store goes in a temporary directory; set
TMPDIR to measure another disk).
Target (issue 6): ≤ 0.2 ms per step with the default durability.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from weft.store import new_run_id, open_store

ITERATIONS = 2000


def _state(i: int) -> dict[str, object]:
    return {
        "position": {"workflow": "poll", "step": "get-status", "index": 1},
        "iteration": i,
        "inputs": {"modelVersionId": 12345, "prompt": "a lighthouse at dusk, oil painting"},
        "steps": {
            "submit": {"outputs": {"token": "wf_01HXYZ", "workflowId": "wf_01HXYZ"}},
            "get-status": {"outputs": {"status": "processing", "progress": i % 100}},
        },
        "loop": {"count": i, "delay": 2.0},
    }


SUMMARY = {
    "method": "GET",
    "url": "http://127.0.0.1:8080/v2/consumer/workflows/wf_01HXYZ",
    "headers": [["Accept", "application/json"], ["Authorization", "***"]],
}


def _record(i: int) -> dict[str, object]:
    return {
        "statusCode": 200,
        "elapsed": 0.012,
        "criteria": [{"condition": "$statusCode == 200", "passed": True}],
        "used": {"/status": "processing", "/steps/0/jobs/0/result/blobs": []},
        "iteration": i,
    }


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def measure(durability: str, safe: bool, iterations: int = ITERATIONS) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "runs.sqlite3"
        store = open_store(path, durability=durability)
        run_id = new_run_id()
        store.run_started(
            run_id,
            document_uri="file:///bench.arazzo.yaml",
            document_hash="sha256:" + "0" * 64,
            workflow_id="poll",
            inputs={"prompt": "x"},
            state=_state(0),
        )
        states = [_state(i) for i in range(iterations)]
        records = [_record(i) for i in range(iterations)]
        start = time.perf_counter()
        for i in range(iterations):
            if not safe:
                store.request_sending(
                    run_id,
                    step_key="get-status",
                    attempt=i + 1,
                    summary=SUMMARY,
                    resend_safe=False,
                    state=states[i],
                )
            store.attempt_finished(
                run_id, step_key="get-status", attempt=i + 1, record=records[i], state=states[i]
            )
        store.flush()
        elapsed = time.perf_counter() - start
        store.run_finished(
            run_id, status="succeeded", outputs={}, error=None, result={"status": "succeeded"}
        )
        (rows,) = store._connection().execute("SELECT COUNT(*) FROM attempts").fetchone()
        stored = store.get_run(run_id)
        assert stored is not None and stored.state == states[-1]
        assert stored.steps[0].attempts == iterations
        store.close()
        return elapsed / iterations, int(rows), _size(path)


def main() -> int:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else ITERATIONS
    print(f"run store, {iterations}-iteration poll loop, cost per recorded step")
    ok = True
    for durability in ("normal", "strict"):
        for safe in (True, False):
            per_step, rows, size = measure(durability, safe, iterations)
            kind = "resend-safe" if safe else "unsafe     "
            target = " (target ≤ 0.200 ms)" if durability == "normal" and safe else ""
            print(
                f"  durability={durability:<6} {kind} step {per_step * 1000:.3f} ms{target};"
                f" attempt rows kept {rows}; store size after close {size / 1024:.1f} KiB"
            )
            if durability == "normal" and safe and per_step > 0.0002:
                ok = False
    print(f"  (sqlite {__import__('sqlite3').sqlite_version}, {os.cpu_count()} CPUs)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
