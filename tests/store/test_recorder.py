"""The RunRecorder methods and the queries built on them."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from weft.effects import RunRecorder
from weft.store import (
    RunStore,
    RunStoreError,
    StoredRun,
    default_store_path,
    is_valid_run_id,
    new_run_id,
    open_store,
)
from weft.store.paths import resolve_store_path

from .conftest import count, sql, start_run, step


def test_store_satisfies_the_recorder_protocol(store: RunStore) -> None:
    recorder: RunRecorder = store  # structural: the store is accepted wherever a recorder is
    for name in ("run_started", "request_sending", "attempt_finished", "checkpoint"):
        assert callable(getattr(recorder, name))
    assert callable(recorder.run_finished)


def test_run_started_records_everything_given(store: RunStore) -> None:
    run_id = start_run(
        store,
        inputs={"prompt": "a cat", "n": 2},
        state={"position": 0, "ctx": {"a": [1, 2]}},
        labels={"batch": "b1", "row": "3"},
    )
    run = store.get_run(run_id)
    assert isinstance(run, StoredRun)
    assert run.run_id == run_id
    assert run.document_uri == "file:///work/flows/poll.arazzo.yaml"
    assert run.document_hash == "sha256:abc123"
    assert run.workflow_id == "poll"
    assert run.inputs == {"prompt": "a cat", "n": 2}
    assert run.labels == {"batch": "b1", "row": "3"}
    assert run.status == "running"
    assert run.state == {"position": 0, "ctx": {"a": [1, 2]}}
    assert run.pending is None and run.result is None and run.error is None
    assert run.created_at <= run.updated_at


def test_get_run_unknown_is_none(store: RunStore) -> None:
    assert store.get_run("nope") is None


def test_request_sending_is_pending_until_attempt_finished(store: RunStore) -> None:
    run_id = start_run(store)
    store.request_sending(
        run_id,
        step_key="submit",
        attempt=1,
        summary={"method": "POST", "url": "http://127.0.0.1/jobs", "body": {"externalId": run_id}},
        resend_safe=False,
        state={"position": 1, "before": "submit"},
    )
    run = store.get_run(run_id)
    assert run is not None and run.pending is not None
    assert run.pending.step_key == "submit"
    assert run.pending.attempt == 1
    assert run.pending.summary["body"] == {"externalId": run_id}
    assert run.pending.resend_safe is False
    assert run.pending.state == {"position": 1, "before": "submit"}
    # the checkpoint state is separate from the write-ahead state
    assert run.state == {"position": 0}

    store.attempt_finished(run_id, step_key="submit", attempt=1, record={"statusCode": 201})
    run = store.get_run(run_id)
    assert run is not None and run.pending is None
    (kept,) = run.attempts
    assert kept.step_key == "submit" and kept.attempt == 1 and kept.seq == 1
    assert kept.record == {"statusCode": 201}
    # the write-ahead summary became part of the attempt
    assert kept.summary is not None and kept.summary["method"] == "POST"
    assert [(s.step_key, s.attempts) for s in run.steps] == [("submit", 1)]


def test_attempt_finished_for_another_request_keeps_pending(store: RunStore) -> None:
    run_id = start_run(store)
    store.request_sending(
        run_id, step_key="a", attempt=2, summary={"m": 1}, resend_safe=True, state={}
    )
    store.attempt_finished(run_id, step_key="a", attempt=1, record={"statusCode": 500})
    run = store.get_run(run_id)
    assert run is not None and run.pending is not None and run.pending.attempt == 2
    assert run.attempts[0].summary is None


def test_checkpoint_replaces_state(store: RunStore) -> None:
    run_id = start_run(store)
    store.checkpoint(run_id, state={"position": 3, "big": "x" * 1000})
    store.checkpoint(run_id, state={"position": 4})
    run = store.get_run(run_id)
    assert run is not None and run.state == {"position": 4}


def test_run_finished_stores_result_and_status(store: RunStore) -> None:
    run_id = start_run(store)
    step(store, run_id, "get", 1, 0)
    result = {
        "runId": run_id,
        "workflowId": "poll",
        "status": "failed",
        "outputs": {"url": None},
        "steps": [{"stepId": "get", "attempts": [{"statusCode": 500}]}],
        "error": {"step": "get", "reason": "status 500"},
    }
    store.run_finished(
        run_id,
        status="failed",
        outputs={"url": None},
        error={"step": "get", "reason": "status 500"},
        result=result,
    )
    run = store.get_run(run_id)
    assert run is not None
    assert run.status == "failed"
    assert run.error == {"step": "get", "reason": "status 500"}
    assert run.result == result
    assert run.to_result() == result


def test_result_built_for_an_interrupted_run(store: RunStore) -> None:
    run_id = start_run(store)
    step(store, run_id, "submit", 1, 0, status=201)
    for i in range(6):
        step(store, run_id, "poll", 1, i, status=200 if i < 5 else 202)
    store.request_sending(
        run_id,
        step_key="fetch",
        attempt=1,
        summary={"method": "GET", "url": "http://127.0.0.1/blob"},
        resend_safe=True,
        state={},
    )
    run = store.get_run(run_id)
    assert run is not None
    result = run.to_result()
    assert result["runId"] == run_id and result["workflowId"] == "poll"
    assert result["status"] == "running" and result["outputs"] == {}
    assert [s["stepId"] for s in result["steps"]] == ["submit", "poll"]
    submit, poll = result["steps"]
    assert submit["attempts"] == 1 and submit["statusCodes"] == [201]
    assert poll["attempts"] == 6
    assert poll["statusCodes"] == [200, 200, 200, 202]  # the first and the last three
    assert result["pending"]["stepId"] == "fetch" and result["pending"]["resendSafe"] is True
    assert result["error"] is None


def test_restart_of_a_recorded_run_keeps_history_and_pending(store: RunStore) -> None:
    run_id = start_run(store, labels={"batch": "b"})
    step(store, run_id, "a", 1, 0)
    store.request_sending(
        run_id, step_key="b", attempt=1, summary={"u": 1}, resend_safe=False, state={"p": 1}
    )
    store.run_finished(
        run_id,
        status="outcome_unknown",
        outputs={},
        error={"step": "b", "reason": "crash"},
        result={"status": "outcome_unknown"},
    )
    first = store.get_run(run_id)
    assert first is not None
    start_run(store, run_id, state={"position": 1, "resumed": True})
    again = store.get_run(run_id)
    assert again is not None
    assert again.status == "running"
    assert again.result is None and again.error is None
    assert again.state == {"position": 1, "resumed": True}
    assert again.created_at == first.created_at
    assert again.labels == {"batch": "b"}  # labels=None keeps them
    assert again.pending is not None and again.pending.step_key == "b"
    assert [a.step_key for a in again.attempts] == ["a"]


def test_events_for_an_unknown_run_raise(store: RunStore) -> None:
    with pytest.raises(RunStoreError) as info:
        store.checkpoint("ghost", state={})
    assert info.value.kind == "unknown_run"
    with pytest.raises(RunStoreError):
        store.request_sending(
            "ghost", step_key="a", attempt=1, summary={}, resend_safe=True, state={}
        )
    with pytest.raises(RunStoreError):
        store.attempt_finished("ghost", step_key="a", attempt=1, record={})
    with pytest.raises(RunStoreError):
        store.run_finished("ghost", status="failed", outputs={}, error=None, result={})
    # nothing half-written
    for table in ("runs", "attempts", "step_stats"):
        assert count(store, table) == 0


def _finish(store: RunStore, run_id: str, status: str) -> None:
    store.run_finished(run_id, status=status, outputs={}, error=None, result={"status": status})


def test_list_runs_filters_and_orders(store: RunStore) -> None:
    a = start_run(store, workflow_id="w1")
    b = start_run(store, workflow_id="w2", labels={"batch": "x"})
    c = start_run(store, workflow_id="w1", labels={"batch": "x", "row": "2"})
    _finish(store, a, "succeeded")
    _finish(store, b, "failed")
    assert [r.run_id for r in store.list_runs()] == [c, b, a]
    assert [r.run_id for r in store.list_runs(status="succeeded")] == [a]
    assert [r.run_id for r in store.list_runs(status=["failed", "running"])] == [c, b]
    assert [r.run_id for r in store.list_runs(workflow_id="w1")] == [c, a]
    assert [r.run_id for r in store.list_runs(labels={"batch": "x"})] == [c, b]
    assert [r.run_id for r in store.list_runs(labels={"batch": "x", "row": "2"})] == [c]
    assert [r.run_id for r in store.list_runs(limit=1)] == [c]
    summary = store.list_runs(status="failed")[0]
    assert summary.workflow_id == "w2" and summary.labels == {"batch": "x"}
    assert summary.to_dict()["runId"] == b


def test_find_runs_by_batch_labels(store: RunStore) -> None:
    rows = [start_run(store, labels={"batch": "B7", "row": str(i)}) for i in range(5)]
    start_run(store, labels={"batch": "other", "row": "0"})
    found = store.find_runs({"batch": "B7"})
    assert [r.run_id for r in found] == rows  # oldest first
    assert [r.labels["row"] for r in found] == ["0", "1", "2", "3", "4"]
    assert [r.run_id for r in store.find_runs({"batch": "B7", "row": "3"})] == [rows[3]]
    assert store.find_runs({"batch": "none"}) == []


def _age(store: RunStore, run_id: str, seconds: float) -> None:
    store.flush()
    sql(store, "UPDATE runs SET updated_at = updated_at - ? WHERE run_id = ?", seconds, run_id)


def test_prune_removes_only_old_terminal_runs(store: RunStore) -> None:
    old_ok = start_run(store)
    old_failed = start_run(store)
    old_running = start_run(store)
    old_unknown = start_run(store)
    new_ok = start_run(store, labels={"batch": "z"})
    for run_id in (old_ok, old_failed, old_running, old_unknown, new_ok):
        step(store, run_id, "s", 1, 0)
    _finish(store, old_ok, "succeeded")
    _finish(store, old_failed, "failed")
    _finish(store, old_unknown, "outcome_unknown")
    _finish(store, new_ok, "succeeded")
    for run_id in (old_ok, old_failed, old_running, old_unknown):
        _age(store, run_id, 8 * 86400)
    assert store.prune(7 * 86400) == 2
    remaining = {r.run_id for r in store.list_runs()}
    assert remaining == {old_running, old_unknown, new_ok}
    kept = {r[0] for r in sql(store, "SELECT id FROM runs")}
    for table in ("attempts", "step_stats", "run_labels", "run_values"):
        ids = {r[0] for r in sql(store, f"SELECT run FROM {table}")}
        assert ids <= kept
    assert sql(store, "SELECT run FROM run_labels") != []  # new_ok's label is kept
    assert store.prune(7 * 86400, statuses=["outcome_unknown"]) == 1
    assert store.prune(7 * 86400, statuses=None) == 1  # the old running one
    assert [r.run_id for r in store.list_runs()] == [new_ok]


def test_new_run_id_is_sortable_unique_and_url_safe() -> None:
    ids = [new_run_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    civitai = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
    for run_id in ids:
        assert len(run_id) <= 40 and civitai.match(run_id) and is_valid_run_id(run_id)
    assert not is_valid_run_id("has space") and not is_valid_run_id("x" * 41)


def test_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WEFT_STORE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_store_path() == tmp_path / "state" / "weft" / "runs.sqlite3"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("sys.platform", "linux")
    assert default_store_path() == tmp_path / ".local" / "state" / "weft" / "runs.sqlite3"
    monkeypatch.setattr("sys.platform", "darwin")
    assert default_store_path().parts[-4:] == (
        "Library",
        "Application Support",
        "weft",
        "runs.sqlite3",
    )
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert default_store_path() == tmp_path / "local" / "weft" / "runs.sqlite3"
    monkeypatch.setenv("WEFT_STORE", str(tmp_path / "env.db"))
    assert default_store_path() == tmp_path / "env.db"
    assert resolve_store_path(tmp_path / "x.db") == tmp_path / "x.db"


def test_open_store_uses_env_and_creates_directories(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "deep" / "er" / "runs.sqlite3"
    monkeypatch.setenv("WEFT_STORE", str(target))
    with open_store() as s:
        start_run(s)
        assert s.path == target
    assert target.exists()
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT application, version FROM schema_version").fetchall() == [
        ("weft", 2)
    ]
    conn.close()


def test_durability_settings(store_url: str, backend: str) -> None:
    if backend == "sqlite":
        query, strict, normal = "PRAGMA synchronous", 2, 1  # FULL, NORMAL
    else:
        query, strict, normal = "SHOW synchronous_commit", "on", "off"
    with open_store(store_url, durability="strict") as s:
        assert sql(s, query)[0][0] == strict
    with open_store(store_url) as s:
        assert sql(s, query)[0][0] == normal
    from weft.errors import UsageError

    with pytest.raises(UsageError):
        open_store(store_url, durability="yolo")


def test_reopen_sees_everything(store_url: str) -> None:
    with open_store(store_url) as s:
        run_id = start_run(s)
        step(s, run_id, "a", 1, 0)
    with open_store(store_url) as s:
        run = s.get_run(run_id)
        assert run is not None and run.state == {"position": 1}


def test_closed_store_raises(store: RunStore) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(RunStoreError) as info:
        store.get_run("x")
    assert info.value.kind == "closed"


def test_get_runs_reads_many_runs_in_one_go(store: RunStore) -> None:
    ids = [start_run(store, labels={"batch": "bulk"}) for _ in range(3)]
    for i, run_id in enumerate(ids):
        step(store, run_id, "s", 1, i)
        _finish(store, run_id, "succeeded")
    missing = "01NOSUCHRUN0000000000000000"
    runs = store.get_runs([ids[2], missing, ids[0]])
    assert [r.run_id for r in runs] == [ids[2], ids[0]]
    assert [r.to_result() for r in runs] == [
        store.get_run(ids[2]).to_result(),  # type: ignore[union-attr]
        store.get_run(ids[0]).to_result(),  # type: ignore[union-attr]
    ]
    assert all(
        r.status == "succeeded" and r.result == {"status": "succeeded", "outputs": {}} for r in runs
    )
