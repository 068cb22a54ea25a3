"""A store written by an older weft (schema version 1) is migrated in place, runs kept."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from weft.store import open_store

# the version-1 schema, as weft wrote it before version 2
V1_SCHEMA = (
    "CREATE TABLE schema_version (application TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL)",
    "INSERT INTO schema_version VALUES ('weft', 1)",
    "CREATE TABLE runs (run_id TEXT NOT NULL PRIMARY KEY, document_uri TEXT NOT NULL,"
    " document_hash TEXT NOT NULL, workflow_id TEXT NOT NULL, inputs TEXT NOT NULL,"
    " labels TEXT NOT NULL, status TEXT NOT NULL, state TEXT NOT NULL, error TEXT, result TEXT,"
    " pending_step_key TEXT, pending_attempt INTEGER, pending_summary TEXT,"
    " pending_resend_safe INTEGER, pending_state TEXT, created_at REAL NOT NULL,"
    " updated_at REAL NOT NULL)",
    "CREATE INDEX runs_status_updated ON runs (status, updated_at)",
    "CREATE INDEX runs_workflow ON runs (workflow_id)",
    "CREATE INDEX runs_created ON runs (created_at)",
    "CREATE TABLE run_labels (run_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (run_id, name))",
    "CREATE INDEX run_labels_value ON run_labels (name, value)",
    "CREATE TABLE step_stats (run_id TEXT NOT NULL, step_key TEXT NOT NULL,"
    " position INTEGER NOT NULL, attempts INTEGER NOT NULL, first_at REAL NOT NULL,"
    " last_at REAL NOT NULL, PRIMARY KEY (run_id, step_key))",
    "CREATE TABLE attempts (run_id TEXT NOT NULL, step_key TEXT NOT NULL, slot INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, attempt INTEGER NOT NULL, summary TEXT, record TEXT NOT NULL,"
    " created_at REAL NOT NULL, PRIMARY KEY (run_id, step_key, slot))",
)


def _v1_store(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in V1_SCHEMA:
        conn.execute(statement)
    runs = [
        # run_id, status, state, result, labels, pending step, created
        ("RUN-OK", "succeeded", {"frames": [1]}, {"outputs": {"cost": 4}, "duration": 2.5},
         {"batch": "b", "row": "0"}, None, 100.0),
        ("RUN-LIVE", "running", {"frames": [2]}, None, {"batch": "b", "row": "1"}, "submit",
         200.0),
        ("RUN-BAD", "failed", {"frames": [3]}, {"outputs": {}}, {}, None, 300.0),
    ]  # fmt: skip
    for run_id, status, state, result, labels, pending, created in runs:
        conn.execute(
            "INSERT INTO runs (run_id, document_uri, document_hash, workflow_id, inputs, labels,"
            " status, state, result, pending_step_key, pending_attempt, pending_summary,"
            " pending_resend_safe, pending_state, created_at, updated_at)"
            " VALUES (?, 'file:///d.yaml', 'h1', 'wf', '{\"n\":1}', ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?)",
            (
                run_id, json.dumps(labels), status, json.dumps(state),
                None if result is None else json.dumps(result), pending,
                None if pending is None else 1, None if pending is None else '{"m":"POST"}',
                None if pending is None else 0, None if pending is None else '{"frames":[9]}',
                created, created + 1,
            ),
        )  # fmt: skip
        for name, value in labels.items():
            conn.execute("INSERT INTO run_labels VALUES (?, ?, ?)", (run_id, name, value))
        conn.execute(
            "INSERT INTO step_stats VALUES (?, 'resolve', 0, 2, ?, ?)", (run_id, created, created)
        )
        for slot, seq in ((0, 1), (1, 2)):
            conn.execute(
                "INSERT INTO attempts VALUES (?, 'resolve', ?, ?, ?, NULL, ?, ?)",
                (run_id, slot, seq, seq, json.dumps({"statusCode": 200 + seq}), created),
            )
    conn.close()


def test_a_version_1_store_is_migrated_with_its_runs(store_path: Path) -> None:
    _v1_store(store_path)
    with open_store(store_path) as store:
        live = store.get_run("RUN-LIVE")
        assert live is not None and live.status == "running"
        assert live.state == {"frames": [2]} and live.inputs == {"n": 1}
        assert live.labels == {"batch": "b", "row": "1"}
        assert live.document_uri == "file:///d.yaml" and live.document_hash == "h1"
        assert live.pending is not None and live.pending.step_key == "submit"
        assert live.pending.summary == {"m": "POST"} and live.pending.state == {"frames": [9]}
        assert [(a.seq, a.record) for a in live.attempts] == [
            (1, {"statusCode": 201}),
            (2, {"statusCode": 202}),
        ]
        assert [(s.step_key, s.attempts) for s in live.steps] == [("resolve", 2)]
        ok = store.get_run("RUN-OK")
        assert ok is not None and ok.state == {} and ok.attempts == [] and ok.steps == []
        assert ok.result == {"outputs": {"cost": 4}, "duration": 2.5}
        assert (ok.cost, ok.duration) == (4.0, 2.5)
        bad = store.get_run("RUN-BAD")
        assert bad is not None and bad.state == {"frames": [3]} and len(bad.attempts) == 2
        assert [s.run_id for s in store.list_runs()] == ["RUN-BAD", "RUN-LIVE", "RUN-OK"]
        assert [s.run_id for s in store.find_runs({"batch": "b"})] == ["RUN-OK", "RUN-LIVE"]
        # the migrated store records as a new one does
        store.checkpoint("RUN-LIVE", state={"frames": [4]})
        store.flush()
    conn = sqlite3.connect(store_path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL: prune shrinks
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not {t for t in tables if t.startswith("v1_")}
    conn.close()
