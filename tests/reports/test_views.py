"""What a page or report shows of a recorded run — built from what the store kept — and the
engine's ``exchange`` events, sent only to listeners that ask for them."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reports.support import SECRET, api_app, run_flow, serving, write_flow
from weft.api import run_async
from weft.engine.result import RunEvent
from weft.reports import EventFanout, RunCollector, view_of_stored
from weft.store import KEEP_LAST, open_store


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    with serving(api_app()) as base:
        yield base


def _recorded(tmp_path: Path, api: str, workflow: str, *inputs: str) -> Any:
    flow = write_flow(tmp_path)
    store_path = tmp_path / f"{workflow}.db"
    run_flow(flow, api, store_path, workflow, inputs=inputs)
    with open_store(store_path) as store:
        [summary] = store.list_runs()
        return store.require_run(summary.run_id)


def test_a_run_that_succeeded_is_drawn_from_its_result(tmp_path: Path, api: str) -> None:
    run = _recorded(tmp_path, api, "poll", "-i", "item=4")
    view = view_of_stored(run)
    lanes = {lane.step_id: lane for lane in view.timeline.lanes}
    assert list(lanes) == ["getItem", "createJob", "pollJob"]
    polls = lanes["pollJob"].bars
    assert [b.attempt for b in polls] == [1, 2, 3, 4]
    assert [b.status_code for b in polls] == [200, 200, 200, 200]
    assert all(not b.exact for b in polls)  # the store keeps no times of single attempts
    assert polls[-1].success is True and polls[0].success is None
    assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(polls))
    assert any("laid end to end" in note for note in view.timeline.notes)
    assert view.requests == [] and any("not kept" in note for note in view.notes)
    assert view.outputs == {"name": "item 4", "result": {"answer": 42}}
    assert view.inputs == {"apiKey": "***", "item": "4"}
    assert view.resume_command is None


def test_a_failed_run_shows_the_attempts_the_store_kept(tmp_path: Path, api: str) -> None:
    run = _recorded(tmp_path, api, "impatient")
    view = view_of_stored(run)
    assert view.status == "failed" and view.failure is not None
    assert view.failure.kind.value == "criteria_not_met" and view.failure.step_id == "pollJob"
    assert view.resume_command is None  # a criterion that did not pass fails again
    poll = next(lane for lane in view.timeline.lanes if lane.step_id == "pollJob")
    assert poll.attempts == 2
    assert [b.attempt for b in poll.bars] == [2]  # a failed run keeps the last attempt
    assert poll.bars[0].exact and poll.bars[0].success is False
    assert poll.hidden == 1 and poll.hidden_from <= poll.hidden_to <= poll.bars[0].start
    assert any("1 older attempt not kept" in note for note in view.timeline.notes)
    create, last_poll = view.requests
    assert (create.method, create.status_code, create.success) == ("POST", 201, True)
    assert ("X-Api-Key", "***") in create.headers
    assert last_poll.url is not None and re.search(r"/v1/jobs/job-\d+$", last_poll.url)
    assert last_poll.failure is not None and last_poll.attempt == 2


def test_a_run_that_failed_on_a_503_may_be_resumed(tmp_path: Path, api: str) -> None:
    run = _recorded(tmp_path, api, "flaky")
    view = view_of_stored(run)
    assert view.resume_command == f"weft resume {run.run_id}"
    assert view.secret_inputs == ["apiKey"]
    assert view.failure is not None and view.failure.status_code == 503


async def test_an_unfinished_run_keeps_its_first_and_last_attempts(tmp_path: Path) -> None:
    flow = write_flow(tmp_path)
    store = open_store(tmp_path / "runs.db")
    seen = asyncio.Event()
    finished = 0

    def on_event(event: RunEvent) -> None:
        nonlocal finished
        if event.kind == "step_finished" and event.step_id == "pollJob":
            finished += 1
            if finished == 8:
                seen.set()

    with serving(api_app(polls=1000)) as base:
        task = asyncio.ensure_future(
            run_async(
                flow,
                "poll",
                {"apiKey": SECRET, "item": "9"},
                servers={"api": base},
                recorder=store,
                on_event=on_event,
            )
        )
        await seen.wait()
        task.cancel()  # as if the process stopped: the run stays unfinished
        with pytest.raises(asyncio.CancelledError):
            await task
    store.flush()
    [summary] = store.list_runs()
    view = view_of_stored(store.require_run(summary.run_id))
    store.close()
    assert view.status == "running"
    assert view.resume_command == f"weft resume {summary.run_id}"
    poll = next(lane for lane in view.timeline.lanes if lane.step_id == "pollJob")
    kept = [b.attempt for b in poll.bars]
    assert kept[0] == 1 and len(kept) == 1 + KEEP_LAST  # the first and the last few
    assert poll.hidden == poll.attempts - len(kept) > 0
    assert poll.bars[0].end <= poll.hidden_from <= poll.hidden_to <= poll.bars[1].start


class _Plain:
    def __init__(self) -> None:
        self.kinds: list[str] = []

    def __call__(self, event: RunEvent) -> None:
        self.kinds.append(event.kind)


class _Wants(_Plain):
    wants_exchanges = True


async def test_exchange_events_go_only_to_listeners_that_ask(tmp_path: Path) -> None:
    flow = write_flow(tmp_path)
    received: list[str] = []

    with serving(api_app()) as base:
        plain = _Plain()
        await run_async(flow, "poll", {"apiKey": SECRET, "item": "1"}, servers={"api": base},
                        on_event=plain)  # fmt: skip
        assert "exchange" not in plain.kinds and "step_finished" in plain.kinds
        quiet, asking, collector = _Plain(), _Wants(), RunCollector(exchanges=True)
        fanout = EventFanout(quiet, asking, collector)
        assert fanout.wants_exchanges
        await run_async(flow, "poll", {"apiKey": SECRET, "item": "1"}, servers={"api": base},
                        on_event=fanout)  # fmt: skip
    assert "exchange" not in quiet.kinds
    assert asking.kinds.count("exchange") == 6  # 1 item + 1 create + 4 polls
    exchanges = [trace.exchange for trace in collector.exchanges]
    assert [e.status for e in exchanges] == [200, 201, 200, 200, 200, 200]
    assert [t.attempt for t in collector.exchanges][2:] == [1, 2, 3, 4]
    for exchange in exchanges:
        assert ("X-Api-Key", "***") in exchange.request_headers
        assert SECRET not in repr(exchange)
    received.extend(e.url for e in exchanges)
    assert received[1].endswith("/v1/jobs")
