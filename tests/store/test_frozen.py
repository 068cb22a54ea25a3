"""Frozen records and states (the engine's): kept as they are while buffered, written as JSON."""

from __future__ import annotations

from weft.effects import Frozen
from weft.store import KEEP_LAST, RunStore
from weft.store.scrub import MASK

from .conftest import start_run


def test_frozen_records_are_written_like_dumped_ones(store: RunStore) -> None:
    run_id = start_run(store)
    for i in range(1, 11):
        record = Frozen(statusCode=200, i=i, outputs={"status": f"s{i}"})
        state = Frozen(position=i, frames=[{"index": i}], token={"Authorization": "Bearer x"})
        store.attempt_finished(run_id, step_key="poll", attempt=i, record=record, state=state)
    plain = {"position": 11, "note": "dumped now"}
    store.attempt_finished(run_id, step_key="poll", attempt=11, record={"i": 11}, state=plain)
    plain["note"] = "changed afterwards"  # not a Frozen mapping: what counted is what was passed
    run = store.get_run(run_id)
    assert run is not None
    assert run.state == {"position": 11, "note": "dumped now"}
    kept = [a.record.get("i") for a in run.attempts]
    assert kept[0] == 1 and kept[-KEEP_LAST:] == list(range(12 - KEEP_LAST, 12))
    assert run.attempts[0].record == {"statusCode": 200, "i": 1, "outputs": {"status": "s1"}}


def test_a_frozen_state_is_scrubbed_when_written(store: RunStore) -> None:
    run_id = start_run(store)
    state = Frozen(position=1, headers=[["Authorization", "Bearer abcdefghijklmnopqrstu"]])
    store.checkpoint(run_id, state=state)
    store.flush()
    run = store.get_run(run_id)
    assert run is not None and run.state == {"position": 1, "headers": [["Authorization", MASK]]}
    store.attempt_finished(
        run_id, step_key="s", attempt=1, record=Frozen({1: "non-string key"}), state=state
    )
    run = store.get_run(run_id)
    assert run is not None and run.attempts[-1].record == {"1": "non-string key"}
