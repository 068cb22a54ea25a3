"""Corrupt, foreign, too-new, full and locked stores: a clear StoreError, nothing lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from weft.errors import StoreError
from weft.store import RunStoreError, SqlRunStore, open_store
from weft.store.sqlite_database import SqliteDatabase

from .conftest import start_run, step


@pytest.fixture
def store(store_path: Path) -> Iterator[SqlRunStore]:
    """These failures are SQLite's (a file): the store on SQLite only."""
    s = open_store(store_path)
    assert isinstance(s, SqlRunStore)
    yield s
    s.close()


def _conn(store: SqlRunStore) -> sqlite3.Connection:
    db = store._database()
    assert isinstance(db, SqliteDatabase)
    assert db.conn is not None
    return db.conn


def store_path_of(store: SqlRunStore) -> Path:
    assert store.path is not None
    return store.path


def _assert_clear(error: StoreError, path: Path) -> None:
    assert error.where is not None and str(path) in error.where
    assert error.why and error.hint
    assert error.exit_code == 2
    assert str(path) in str(error)


def test_random_bytes_file_is_reported_and_left_untouched(store_path: Path) -> None:
    garbage = b"\x00not sqlite\xff" + os.urandom(8192)
    store_path.write_bytes(garbage)
    with pytest.raises(RunStoreError) as info:
        open_store(store_path)
    assert info.value.kind == "corrupt"
    _assert_clear(info.value, store_path)
    assert "mv " in (info.value.hint or "")
    assert store_path.read_bytes() == garbage


def test_damaged_pages_are_a_store_error_not_a_crash(store_path: Path) -> None:
    with open_store(store_path) as s:
        run_id = start_run(s, state={"blob": os.urandom(25_000).hex()})
    data = bytearray(store_path.read_bytes())
    assert len(data) > 3 * 4096
    data[4096:] = os.urandom(len(data) - 4096)  # keep the header and schema page
    store_path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        s = open_store(store_path)
        try:
            s.get_run(run_id)
            s.list_runs()
            s.checkpoint(run_id, state={})
        finally:
            s.close()
    assert isinstance(info.value, RunStoreError)
    assert info.value.kind in {"corrupt", "io"}
    _assert_clear(info.value, store_path)


def test_foreign_sqlite_file_is_refused_untouched(store_path: Path) -> None:
    conn = sqlite3.connect(store_path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("CREATE TABLE schema_version (version INTEGER)")  # someone else's
    conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.commit()
    conn.close()
    before = store_path.read_bytes()
    with pytest.raises(RunStoreError) as info:
        open_store(store_path)
    assert info.value.kind == "foreign"
    _assert_clear(info.value, store_path)
    assert "users" in (info.value.why or "")
    assert store_path.read_bytes() == before  # not switched to WAL, no tables added
    assert not store_path.with_name(store_path.name + "-wal").exists()


def test_store_from_a_newer_weft_is_refused_and_kept(store_path: Path) -> None:
    with open_store(store_path) as s:
        run_id = start_run(s)
    conn = sqlite3.connect(store_path)
    conn.execute("UPDATE schema_version SET version = 99 WHERE application = 'weft'")
    conn.commit()
    conn.close()
    with pytest.raises(RunStoreError) as info:
        open_store(store_path)
    assert info.value.kind == "too_new"
    _assert_clear(info.value, store_path)
    assert "99" in (info.value.why or "") and "upgrade" in (info.value.hint or "")
    conn = sqlite3.connect(store_path)
    assert conn.execute("SELECT run_id FROM runs").fetchall() == [(run_id,)]
    conn.close()


def test_disk_full_raises_from_the_recorder_and_keeps_what_was_recorded(store: SqlRunStore) -> None:
    run_id = start_run(store)
    step(store, run_id, "a", 1, 0)
    store.flush()  # acknowledged durable
    conn = _conn(store)
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the "disk" is now full
    with pytest.raises(RunStoreError) as info:
        store.checkpoint(run_id, state={"position": 99, "big": os.urandom(100_000).hex()})
        store.flush()  # durability normal buffers a checkpoint: the error comes with its write
    assert info.value.kind == "full"
    _assert_clear(info.value, store_path_of(store))
    assert "free disk space" in (info.value.hint or "")
    with pytest.raises(RunStoreError):
        for i in range(50):  # attempts too, until the few free bytes are gone
            store.attempt_finished(
                run_id, step_key=f"k{i}", attempt=1, record={"pad": os.urandom(10_000).hex()}
            )
            store.flush()
    run = store.get_run(run_id)  # the buffer cannot be written: what is durable is read
    assert run is not None and run.state == {"position": 1}  # the last committed checkpoint
    assert "a" in {a.step_key for a in run.attempts}
    # space comes back: the run can go on
    conn.execute("PRAGMA max_page_count = 1073741823")
    store.checkpoint(run_id, state={"position": 2})
    again = store.get_run(run_id)
    assert again is not None and again.state == {"position": 2}
    # the records that could not be written then were kept, not dropped
    assert "k0" in {a.step_key for a in again.attempts}


def test_disk_full_from_the_os_is_the_same_error(
    store: SqlRunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = start_run(store)
    store.flush()

    class FullConnection:
        def __init__(self, real: sqlite3.Connection) -> None:
            self.real = real

        @property
        def in_transaction(self) -> bool:
            return self.real.in_transaction

        def execute(self, sql: str, *args: object) -> object:
            if sql.startswith("UPDATE"):
                raise sqlite3.OperationalError("database or disk is full")
            return self.real.execute(sql, *args)

    real = _conn(store)
    db = store._database()
    monkeypatch.setattr(db, "conn", FullConnection(real))
    with pytest.raises(RunStoreError) as info:
        store.checkpoint(run_id, state={"x": 1})
        store.flush()
    assert info.value.kind == "full"
    assert not real.in_transaction  # rolled back, connection still usable
    monkeypatch.setattr(db, "conn", real)
    store.checkpoint(run_id, state={"x": 2})
    run = store.get_run(run_id)
    assert run is not None and run.state == {"x": 2}


_HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("UPDATE runs SET updated_at = updated_at")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
    print("released", flush=True)
    """
)


def test_locked_by_another_process_beyond_busy_timeout(store_path: Path) -> None:
    with open_store(store_path) as s:
        run_id = start_run(s)
        step(s, run_id, "a", 1, 0)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(store_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        store = open_store(store_path, busy_timeout=0.2)
        try:
            with pytest.raises(RunStoreError) as info:
                store.checkpoint(run_id, state={"position": 5})
                store.flush()
            assert info.value.kind == "locked"
            _assert_clear(info.value, store_path)
            assert "0.2s" in (info.value.why or "")
            # reading still works while another process writes (WAL)
            run = store.get_run(run_id)
            assert run is not None and run.state == {"position": 1}
            holder.stdin.write("go\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "released"
            store.checkpoint(run_id, state={"position": 6})
            run = store.get_run(run_id)
            assert run is not None and run.state == {"position": 6}
        finally:
            store.close()
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()


def test_unwritable_directory_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RunStoreError) as info:
        open_store(blocker / "runs.sqlite3")
    assert info.value.kind == "io"
    assert info.value.hint


# -- PostgreSQL ------------------------------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    url = f"postgresql://weft:s3cret-pw@127.0.0.1:{_closed_port()}/runs?connect_timeout=5"
    with pytest.raises(RunStoreError) as info:
        open_store(url)
    assert info.value.kind == "unreachable"
    assert "s3cret-pw" not in str(info.value)
    assert info.value.where == url.replace("s3cret-pw", "***")
    assert info.value.hint and info.value.exit_code == 2


def test_a_database_with_foreign_weft_named_tables_is_refused(postgres_server: Any) -> None:
    import psycopg

    from weft.testing.postgres import drop_database, fresh_database

    url = fresh_database(postgres_server)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, owner TEXT)")
            conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        with pytest.raises(RunStoreError) as info:
            open_store(url)
        assert info.value.kind == "foreign"
        assert "runs" in (info.value.why or "") and "invoices" not in (info.value.why or "")
        with psycopg.connect(url, autocommit=True) as conn:  # untouched
            conn.execute("DROP TABLE runs")
        with open_store(url) as store:  # other applications' tables may share the database
            assert store.list_runs() == []
    finally:
        drop_database(postgres_server, url)


def test_a_database_from_a_newer_weft_is_refused(postgres_server: Any) -> None:
    import psycopg

    from weft.testing.postgres import drop_database, fresh_database

    url = fresh_database(postgres_server)
    try:
        with open_store(url) as store:
            run_id = start_run(store)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE schema_version SET version = 99")
        with pytest.raises(RunStoreError) as info:
            open_store(url)
        assert info.value.kind == "too_new" and "99" in (info.value.why or "")
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT run_id FROM runs").fetchall() == [(run_id,)]
    finally:
        drop_database(postgres_server, url)


def test_processes_migrating_one_new_database_at_once(postgres_server: Any) -> None:
    from weft.testing.postgres import drop_database, fresh_database

    url = fresh_database(postgres_server)
    script = "import sys; from weft.store import open_store; open_store(sys.argv[1]).close()"
    try:
        procs = [subprocess.Popen([sys.executable, "-c", script, url]) for _ in range(4)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
        with open_store(url) as store:
            assert store.count_runs() == 0
    finally:
        drop_database(postgres_server, url)


def test_a_store_path_too_long_for_the_file_system_is_one_clear_error(tmp_path: Path) -> None:
    from weft.store import RunStoreError, open_store

    with pytest.raises(RunStoreError) as info:
        open_store(tmp_path / ("a" * 300))
    assert info.value.exit_code == 2
    assert info.value.what == "the run store's path cannot be used"
    assert "File name too long" in (info.value.why or "")
