"""The RunStore protocol, store_scope, run summaries (duration, cost) and keyset pagination."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from weft.errors import UsageError
from weft.store import RunStore, RunStoreError, RunSummary, open_store, store_scope
from weft.store.protocol import RunStore as ProtocolRunStore

from .conftest import start_run


def test_every_store_implements_the_whole_protocol(store: RunStore) -> None:
    members = [
        name
        for name in vars(ProtocolRunStore)
        if not name.startswith("_") and callable(getattr(ProtocolRunStore, name))
    ]
    assert {"get_run", "list_runs", "count_runs", "prune", "flush", "ensure_started"} <= {
        *members,
        "flush",
        "ensure_started",
    }
    for name in (*members, "run_started", "attempt_finished", "flush", "ensure_started"):
        assert callable(getattr(store, name)), name
    assert store.backend in ("sqlite", "postgresql")
    assert store.durability == "normal" and store.location


def test_store_scope_leaves_a_given_store_open(store: RunStore) -> None:
    with store_scope(store) as scoped:
        assert scoped is store
    assert store.list_runs() == []  # still open


def test_store_scope_opens_and_closes_what_it_names(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store_scope(store_url) as scoped:
        run_id = start_run(scoped)  # buffered: closing writes it
        kept = scoped
    with pytest.raises(RunStoreError) as info:
        kept.get_run(run_id)
    assert info.value.kind == "closed"
    monkeypatch.setenv("WEFT_STORE", store_url)
    with store_scope(None) as from_env:
        assert from_env.get_run(run_id) is not None
    if not store_url.startswith("postgresql://"):
        with store_scope(Path(store_url)) as from_path:
            assert from_path.get_run(run_id) is not None


def _finish(store: RunStore, run_id: str, status: str, result: dict[str, object]) -> None:
    store.run_finished(run_id, status=status, outputs={}, error=None, result=result)


def test_summaries_carry_duration_and_cost(store: RunStore) -> None:
    paid = start_run(store)
    _finish(store, paid, "succeeded", {"outputs": {"cost": 12}, "duration": 1.25})
    labelled = start_run(store, labels={"cost": "2.5"})
    free = start_run(store)
    _finish(store, free, "failed", {"outputs": {"cost": True}, "duration": "slow"})
    by_id = {s.run_id: s for s in store.list_runs()}
    assert (by_id[paid].cost, by_id[paid].duration) == (12.0, 1.25)
    assert (by_id[labelled].cost, by_id[labelled].duration) == (2.5, None)
    assert (by_id[free].cost, by_id[free].duration) == (None, None)
    run = store.get_run(paid)
    assert run is not None and (run.cost, run.duration) == (12.0, 1.25)


def test_keyset_pages_cover_every_run_once_newest_first(store: RunStore) -> None:
    ids = [start_run(store, labels={"batch": "p" if i % 3 else "q"}) for i in range(23)]
    for run_id in ids[::4]:
        _finish(store, run_id, "failed", {})

    def pages(**filters: object) -> list[list[RunSummary]]:
        out: list[list[RunSummary]] = []
        before = None
        while True:
            page = store.list_runs(limit=5, before=before, **filters)  # type: ignore[arg-type]
            if not page:
                return out
            out.append(page)
            before = page[-1].cursor

    everything = [s.run_id for page in pages() for s in page]
    assert everything == ids[::-1]
    assert store.count_runs() == 23
    failed = [s.run_id for page in pages(status="failed") for s in page]
    assert failed == ids[::4][::-1] and store.count_runs(status="failed") == len(failed)
    labelled = [s.run_id for page in pages(labels={"batch": "q"}) for s in page]
    assert labelled == ids[::3][::-1] and store.count_runs(labels={"batch": "q"}) == 8
    assert store.count_runs(status=["failed", "running"], workflow_id="poll") == 23
    assert store.count_runs(workflow_id="nope") == 0
    with pytest.raises(UsageError):
        store.list_runs(before="not a cursor")


def test_prune_gives_the_space_back(store_url: str, backend: str) -> None:
    with open_store(store_url) as store:
        for _ in range(40):
            run_id = start_run(store, inputs={"blob": os.urandom(20_000).hex()})
            _finish(store, run_id, "succeeded", {"blob": os.urandom(20_000).hex()})
        store.flush()
        full = _size(store, store_url, backend)
        assert store.prune(0) == 40
        assert store.list_runs() == []
        emptied = _size(store, store_url, backend)
    if backend == "sqlite":
        assert emptied < full / 10, (full, emptied)  # the file itself shrank
    else:
        assert emptied == 0  # VACUUM ran: no dead rows left behind


def _size(store: RunStore, url: str, backend: str) -> int:
    from .conftest import sql

    if backend == "sqlite":
        return sum(p.stat().st_size for p in Path(url).parent.glob(Path(url).name + "*"))
    # dead (deleted, not yet vacuumed) rows of the store's tables
    rows = sql(store, "SELECT COALESCE(SUM(n_dead_tup), 0) FROM pg_stat_user_tables")
    return int(rows[0][0])
