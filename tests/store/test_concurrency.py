"""Many runs at once: asyncio tasks, threads, several connections and several processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading

from weft.store import RunStore, open_store

from .conftest import start_run, step

STEPS = 15


def _assert_complete(store: RunStore, run_ids: list[str], steps: int = STEPS) -> None:
    for run_id in run_ids:
        run = store.get_run(run_id)
        assert run is not None, run_id
        assert run.status == "outcome_unknown"
        assert run.state == {"position": steps}
        assert run.pending is None
        assert [(s.step_key, s.attempts) for s in run.steps] == [("poll", steps)]


def _finish(store: RunStore, run_id: str) -> None:
    # a final status that keeps the state and the attempts (a succeeded run keeps neither),
    # so the checks below see every step
    store.run_finished(
        run_id, status="outcome_unknown", outputs={}, error=None, result={"ok": True}
    )


async def test_many_asyncio_runs_interleaved(store: RunStore) -> None:
    async def one_run(n: int) -> str:
        run_id = start_run(store, labels={"batch": "async", "row": str(n)})
        for i in range(STEPS):
            await asyncio.sleep(0)
            step(store, run_id, "poll", 1, i)
        _finish(store, run_id)
        return run_id

    run_ids = await asyncio.gather(*(one_run(n) for n in range(40)))
    _assert_complete(store, list(run_ids))
    assert len(store.find_runs({"batch": "async"})) == 40


def test_threads_sharing_one_store(store: RunStore) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                run_id = start_run(store)
                for i in range(STEPS):
                    step(store, run_id, "poll", 1, i)
                _finish(store, run_id)
                results.append(run_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 40
    _assert_complete(store, results)


def test_threads_with_their_own_connections(store_url: str) -> None:
    open_store(store_url).close()  # create once
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with open_store(store_url) as own:
                for _ in range(3):
                    run_id = start_run(own)
                    for i in range(STEPS):
                        step(own, run_id, "poll", 1, i)
                    _finish(own, run_id)
                    results.append(run_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with open_store(store_url) as s:
        _assert_complete(s, results)


_WRITER = textwrap.dedent(
    """
    import sys
    from weft.store import open_store, new_run_id
    path, tag, runs, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open_store(path) as store:
        for n in range(runs):
            run_id = new_run_id()
            store.run_started(run_id, document_uri="d", document_hash="h", workflow_id="poll",
                              inputs={}, state={"position": 0}, labels={"batch": tag})
            for i in range(steps):
                store.request_sending(run_id, step_key="poll", attempt=1, summary={"i": i},
                                      resend_safe=True, state={})
                store.attempt_finished(run_id, step_key="poll", attempt=1,
                                       record={"statusCode": 200})
                store.checkpoint(run_id, state={"position": i + 1})
            store.run_finished(run_id, status="outcome_unknown", outputs={}, error=None,
                               result={"ok": True})
            print(run_id, flush=True)
    """
)


def test_several_processes_write_one_store(store_url: str) -> None:
    open_store(store_url).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, store_url, f"p{n}", "12", str(STEPS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    # the parent writes at the same time
    with open_store(store_url) as mine:
        local = []
        for _ in range(12):
            run_id = start_run(mine, labels={"batch": "parent"})
            for i in range(STEPS):
                step(mine, run_id, "poll", 1, i)
            _finish(mine, run_id)
            local.append(run_id)
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    with open_store(store_url) as s:
        for n, (out, _) in enumerate(outputs):
            ids = out.split()
            assert len(ids) == 12
            assert [r.run_id for r in s.find_runs({"batch": f"p{n}"})] == ids
            _assert_complete(s, ids)
        _assert_complete(s, local)
        assert len(s.list_runs(limit=None)) == 48
