"""Each value written once: a large Frozen part is serialised once while it lives and stored
once per run (run_values), referenced from every document that holds it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from weft.effects import Frozen
from weft.store import RunStore, open_store
from weft.store import encoder as encoder_module
from weft.store.encoder import VALUE_MIN

from .conftest import count, sql, start_run


def _big(tag: str) -> Frozen:
    """A Frozen step output well over VALUE_MIN (random: it does not compress away)."""
    return Frozen(tag=tag, body=os.urandom(VALUE_MIN).hex())


def _state(i: int, outputs: Frozen) -> Frozen:
    return Frozen(position=i, frames=[{"stepOutputs": {"fetch": outputs}}], small=Frozen(i=1))


def _stored_bytes(store: RunStore, run_id: str) -> int:
    """Bytes of the run's state and attempt documents (not its values)."""
    store.flush()
    rows = sql(
        store,
        "SELECT LENGTH(r.state), (SELECT SUM(LENGTH(a.record)) FROM attempts a WHERE a.run = r.id)"
        " FROM runs r WHERE r.run_id = ?",
        run_id,
    )
    return int(rows[0][0] or 0) + int(rows[0][1] or 0)


def test_a_large_part_is_serialised_and_stored_once(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[int] = []
    real_entry = encoder_module._Walk.entry

    def counting_entry(self: Any, obj: Frozen, depth: int) -> Any:
        made.append(id(obj))
        return real_entry(self, obj, depth)

    monkeypatch.setattr(encoder_module._Walk, "entry", counting_entry)
    run_id = start_run(store)
    out = _big("a")
    for i in range(20):
        # the engine's shape: the record and every later state hold the same outputs object
        record = Frozen(statusCode=200, outputs=out)
        store.attempt_finished(
            run_id, step_key="poll", attempt=i + 1, record=record, state=_state(i, out)
        )
        if i % 3 == 0:
            store.flush()
    assert made.count(id(out)) == 1  # serialised once, however many documents hold it
    assert count(store, "run_values") == 1
    assert _stored_bytes(store, run_id) < VALUE_MIN  # documents hold a reference, not the body
    run = store.get_run(run_id)
    assert run is not None
    assert run.state["frames"][0]["stepOutputs"]["fetch"] == dict(out)
    assert all(a.record["outputs"] == dict(out) for a in run.attempts)


def test_values_no_longer_referenced_are_collected(store: RunStore) -> None:
    run_id = start_run(store)
    for i in range(10):
        out = _big(str(i))  # a new body every iteration (a poll whose answer changes)
        store.attempt_finished(
            run_id, step_key="poll", attempt=i + 1, record=Frozen(n=i), state=_state(i, out)
        )
        store.flush()
        assert count(store, "run_values") == 1  # only the latest state's body is kept
    run = store.get_run(run_id)
    assert run is not None and run.state["frames"][0]["stepOutputs"]["fetch"]["tag"] == "9"
    # the attempts' records reference bodies too: the kept ones stay
    for i in range(3):
        store.attempt_finished(
            run_id, step_key="get", attempt=i + 1, record=Frozen(out=_big(f"r{i}"))
        )
    store.checkpoint(run_id, state={"position": 99})  # the state no longer holds a body
    assert count(store, "run_values") == 3  # the records of "get" (first + last) only
    result = Frozen(status="succeeded", outputs=Frozen(body=_big("final")))
    store.run_finished(
        run_id, status="succeeded", outputs=result["outputs"], error=None, result=result
    )
    assert count(store, "run_values") == 1  # the result's: a succeeded run keeps no attempts
    done = store.get_run(run_id)
    assert done is not None and done.result is not None
    assert done.result["outputs"]["body"]["tag"] == "final"
    assert store.prune(0) == 1
    assert count(store, "run_values") == 0  # collected with the run


def test_a_run_continued_by_another_store_keeps_collecting(store_url: str) -> None:
    with open_store(store_url) as first:
        run_id = start_run(first)
        first.checkpoint(run_id, state=_state(0, _big("x")))
    with open_store(store_url) as second:  # e.g. resume in another process
        second.checkpoint(run_id, state=_state(1, _big("y")))
        second.request_sending(
            run_id,
            step_key="post",
            attempt=1,
            summary={"method": "POST"},
            resend_safe=False,
            state=_state(2, _big("z")),
        )
        assert count(second, "run_values") == 2  # the state's and the pending state's
        run = second.get_run(run_id)
        assert run is not None and run.pending is not None
        assert run.pending.state["frames"][0]["stepOutputs"]["fetch"]["tag"] == "z"
        second.attempt_finished(run_id, step_key="post", attempt=1, record={"statusCode": 201})
        assert count(second, "run_values") == 1


def test_small_frozen_parts_are_spliced_in_and_plain_dicts_dumped_at_call_time(
    store: RunStore,
) -> None:
    run_id = start_run(store)
    shared = Frozen(a=1)
    plain: dict[str, Any] = {"position": 1, "shared": shared}
    store.checkpoint(run_id, state=plain)
    plain["position"] = 2  # a plain dict is serialised when the call is made
    run = store.get_run(run_id)
    assert run is not None and run.state == {"position": 1, "shared": {"a": 1}}
    assert count(store, "run_values") == 0
