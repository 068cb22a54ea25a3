"""run_batch on a loopback items API: typing, defaults, concurrency, shared Retry-After, re-runs."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest

from weft.batch import BatchOptions, BatchProgress, BatchResult, run_batch
from weft.batch.results import RowResult
from weft.batch.runner import RowHooks
from weft.effects import HttpRequest, HttpResponse
from weft.errors import WeftError
from weft.store import open_store

from .items import ItemsServer, write_items_docs

TOKEN = "tok-SECRET-123456"


@pytest.fixture
def items() -> ItemsServer:  # type: ignore[misc]
    server = ItemsServer(delay=0.02, expected_token=TOKEN).start()
    yield server
    server.stop()


async def test_csv_cells_are_typed_defaults_fill_gaps_and_secrets_stay_masked(
    tmp_path: Path, items: ItemsServer
) -> None:
    doc = write_items_docs(tmp_path)
    rows = tmp_path / "rows.csv"
    rows.write_text("id,label,flag\n1,first,true\n2,,no\nx,bad,true\n4,fourth,\n")
    seen: list[BatchProgress] = []
    result = await run_batch(
        doc, rows, defaults={"token": TOKEN, "label": "dflt"}, concurrency=2,
        servers={"items": items.base_url}, store=tmp_path / "s.db", on_progress=seen.append,
    )  # fmt: skip
    by_row = {r.row: r for r in result.rows}
    assert by_row[1].outputs == {"double": 2, "label": "first", "flag": "true"}
    assert by_row[2].outputs == {"double": 4, "label": "dflt", "flag": "false"}
    assert by_row[4].outputs["double"] == 8 and by_row[4].outputs["flag"] is None
    # a cell that is not of the declared type fails that row only, before any request
    bad = by_row[3]
    assert bad.status == "failed" and bad.run_id is None and "'id'" in bad.error["reason"]  # type: ignore[index]
    assert bad.line == 4 and result.failed == 1 and not result.ok
    assert sorted(items.requests) == [1, 2, 4]
    assert seen[-1].done == 4 and seen[-1].failed == 1 and seen[-1].in_flight == 0
    assert TOKEN not in orjson.dumps(result.to_dict()).decode()
    assert TOKEN.encode() not in (tmp_path / "s.db").read_bytes()


async def test_concurrency_bounds_requests_in_flight(tmp_path: Path, items: ItemsServer) -> None:
    doc = write_items_docs(tmp_path)
    rows = [{"id": i} for i in range(1, 25)]
    seen: list[int] = []
    result = await run_batch(
        doc, rows, defaults={"token": TOKEN}, concurrency=3, servers={"items": items.base_url},
        store=tmp_path / "s.db", on_progress=lambda p: seen.append(p.in_flight),
    )  # fmt: skip
    assert result.ok and [r.outputs["double"] for r in result.rows] == [2 * i for i in range(1, 25)]
    assert 1 <= items.max_in_flight <= 3
    assert max(seen) <= 3
    assert all(n == 1 for n in items.requests.values())


class VirtualClock:
    """Virtual time: when every task is blocked, time jumps to the earliest sleeper's wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._ids), future))
        await future

    async def drive(self) -> None:
        while True:
            for _ in range(100):  # let every runnable task run until it blocks
                await asyncio.sleep(0)
            if self._sleepers:
                wake, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)


class ItemsTransport:
    """Answers the items API in memory; the first request for item 1 gets 429 Retry-After: 30."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, str, int]] = []

    async def send(self, request: HttpRequest) -> HttpResponse:
        item = int(request.url.split("/items/")[1].split("?")[0])
        status = 429 if item == 1 and not any(s[1].endswith("/1") for s in self.sent) else 200
        self.sent.append((self.clock.now, request.url.split("?")[0], status))
        if status == 429:  # answered at once: the governor learns before anyone else sends
            return HttpResponse(429, {"retry-after": "30"}, b"{}", request.url)
        await asyncio.sleep(0)
        body = orjson.dumps({"id": item, "double": item * 2, "label": "l", "flag": "f"})
        return HttpResponse(200, {"content-type": "application/json"}, body, request.url)


async def test_a_429_on_one_run_holds_back_every_run_on_that_host(tmp_path: Path) -> None:
    doc = write_items_docs(tmp_path)
    clock = VirtualClock()
    transport = ItemsTransport(clock)
    driver = asyncio.ensure_future(clock.drive())
    try:
        result = await run_batch(
            doc, [{"id": i} for i in range(1, 13)], defaults={"token": TOKEN}, concurrency=4,
            servers={"items": "http://items.test"}, store=tmp_path / "s.db",
            transport=transport, clock=clock,
        )  # fmt: skip
    finally:
        driver.cancel()
    assert result.ok and result.holds == 1
    throttled = next(i for i, s in enumerate(transport.sent) if s[2] == 429)
    t429 = transport.sent[throttled][0]
    later = transport.sent[throttled + 1 :]
    assert len(later) >= 8  # every other row started after the 429 ...
    assert all(t >= t429 + 30 for t, _, _ in later)  # ... and waited out its Retry-After


async def test_rerun_skips_finished_rows_and_retry_failed_runs_failed_ones(
    tmp_path: Path, items: ItemsServer
) -> None:
    doc = write_items_docs(tmp_path)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(orjson.dumps({"id": i}).decode() for i in range(1, 7)) + "\n")
    store = tmp_path / "s.db"
    items.fail = {3}
    items.fail_status = 422  # refused for good: a re-run reuses it unless retry_failed
    opts = {"defaults": {"token": TOKEN}, "servers": {"items": items.base_url}, "store": store}
    first = await run_batch(doc, rows, **opts)  # type: ignore[arg-type]
    assert [r.status for r in first.rows] == ["succeeded"] * 2 + ["failed"] + ["succeeded"] * 3
    assert first.rows[2].error["step"] == "get"  # type: ignore[index]
    items.fail = set()
    again = await run_batch(doc, rows, **opts)  # type: ignore[arg-type]
    assert again.reused == 6 and again.failed == 1 and sum(items.requests.values()) == 6
    retried = await run_batch(doc, rows, retry_failed=True, **opts)  # type: ignore[arg-type]
    assert retried.ok and retried.reused == 5
    assert items.requests[3] == 2 and sum(items.requests.values()) == 7
    assert retried.rows[2].run_id != first.rows[2].run_id
    # an edited row is a new run; the others are still reused
    rows.write_text(rows.read_text().replace('{"id":6}', '{"id":6,"label":"new"}'))
    edited = await run_batch(doc, rows, **opts)  # type: ignore[arg-type]
    assert edited.reused == 5 and edited.rows[5].outputs["label"] == "new"
    assert items.requests[6] == 2


async def test_rerun_resumes_rows_that_failed_on_a_fault_that_may_pass(
    tmp_path: Path, items: ItemsServer
) -> None:
    doc = write_items_docs(tmp_path)
    rows = [{"id": i} for i in range(1, 5)]
    items.fail = {2}  # 500: the server's fault, which may pass
    opts = {"defaults": {"token": TOKEN}, "servers": {"items": items.base_url}}
    store = tmp_path / "s.db"
    no_resumes = BatchOptions(transient_resumes=0)  # the row is left failed (and resumable)
    first = await run_batch(doc, rows, store=store, batch=no_resumes, **opts)  # type: ignore[arg-type]
    assert [r.status for r in first.rows] == ["succeeded", "failed", "succeeded", "succeeded"]
    items.fail = set()
    again = await run_batch(doc, rows, store=store, **opts)  # type: ignore[arg-type]
    assert again.ok and again.reused == 3 and again.resumed == 1
    assert again.rows[1].run_id == first.rows[1].run_id  # the same run, continued
    assert items.requests[2] == 2 and sum(items.requests.values()) == 5


class OutageTransport:
    """The items API in memory; item 2 answers 503 to its first ``failures`` requests."""

    def __init__(self, clock: VirtualClock, failures: int) -> None:
        self.clock = clock
        self.failures = failures
        self.sent: list[tuple[float, int, int]] = []

    async def send(self, request: HttpRequest) -> HttpResponse:
        item = int(request.url.split("/items/")[1].split("?")[0])
        earlier = sum(1 for _, i, _ in self.sent if i == item)
        status = 503 if item == 2 and earlier < self.failures else 200
        self.sent.append((self.clock.now, item, status))
        await asyncio.sleep(0)
        if status == 503:
            page = b"<html>down</html>"
            return HttpResponse(503, {"content-type": "text/html"}, page, request.url)
        body = orjson.dumps({"id": item, "double": item * 2, "label": "l", "flag": "f"})
        return HttpResponse(200, {"content-type": "application/json"}, body, request.url)


async def _three_items(
    tmp_path: Path, clock: VirtualClock, transport: OutageTransport, **options: Any
) -> tuple[BatchResult, list[str]]:
    """A batch of items 1..3 over ``transport``, on ``clock`` (driven while it runs); its result
    and its notices."""
    notices: list[str] = []
    driver = asyncio.ensure_future(clock.drive())
    try:
        result = await run_batch(
            write_items_docs(tmp_path), [{"id": i} for i in range(1, 4)],
            defaults={"token": TOKEN}, servers={"items": "http://items.test"},
            store=tmp_path / "s.db", transport=transport, clock=clock,
            on_notice=notices.append, **options,
        )  # fmt: skip
    finally:
        driver.cancel()
    return result, notices


@pytest.mark.parametrize(("failures", "expected"), [(2, "succeeded"), (3, "failed")])
async def test_a_row_stopped_by_an_outage_is_resumed_within_the_batch(
    tmp_path: Path, failures: int, expected: str
) -> None:
    """A run that stops on a fault that may pass is resumed in the same batch after a pause
    (5 s, then 10 s): the same run, continued, at most ``transient_resumes`` times."""
    clock = VirtualClock()
    transport = OutageTransport(clock, failures)
    result, notices = await _three_items(tmp_path, clock, transport)
    row = result.rows[1]
    assert row.status == expected
    assert (
        notices
        == [
            "row 2: step 'get': status 503; resuming its run in 5 s (1 of 2)",
            "row 2: step 'get': status 503; resuming its run in 10 s (2 of 2)",
        ]  # before each resume, whether the row then succeeds or not
    )
    tries = [(t, s) for t, i, s in transport.sent if i == 2]
    assert [s for _, s in tries] == [503] * failures + [200] * (expected == "succeeded")
    assert [t for t, _ in tries] == [0.0, 5.0, 15.0][: len(tries)]
    with open_store(tmp_path / "s.db") as opened:
        assert len(opened.list_runs(limit=None)) == 3  # one run per row, resumed in place
    if expected == "failed":
        assert row.error is not None and row.error["statusCode"] == 503


class Outage(WeftError):
    transient = True


@pytest.mark.parametrize(("failures", "expected"), [(2, "succeeded"), (3, "failed")])
@pytest.mark.parametrize("hook", ["prepare_inputs", "finish_row"])
async def test_a_rows_own_work_that_meets_an_outage_is_tried_again_within_the_batch(
    tmp_path: Path, hook: str, failures: int, expected: str
) -> None:
    """A command's hook (planning before the run, saving its results after) that fails on a
    fault that may pass is tried again after the batch's pauses, as a run is resumed; the run
    is still one run, never started twice."""
    clock = VirtualClock()
    transport = OutageTransport(clock, 0)
    calls: list[float] = []

    def flaky(row: int) -> None:
        if row == 2:
            calls.append(clock.now)
            if len(calls) <= failures:
                raise Outage("the items API gave no answer (cannot connect)", hint="try later")

    def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
        flaky(values["id"])
        return values

    async def finish(row: RowResult) -> RowResult:
        flaky(row.row)
        return row

    hooks = (
        RowHooks(prepare_inputs=prepare)
        if hook == "prepare_inputs"
        else RowHooks(finish_row=finish)
    )
    result, notices = await _three_items(tmp_path, clock, transport, hooks=hooks)
    assert [r.status for r in result.rows] == ["succeeded", expected, "succeeded"]
    assert notices == [
        "row 2: the items API gave no answer (cannot connect); trying the row again in 5 s"
        " (1 of 2)",
        "row 2: the items API gave no answer (cannot connect); trying the row again in 10 s"
        " (2 of 2)",
    ]
    assert [t - calls[0] for t in calls] == [0.0, 5.0, 15.0]  # pauses of 5 s, then 10 s
    runs = [t for t, i, _ in transport.sent if i == 2]
    assert len(runs) == (1 if hook == "finish_row" or expected == "succeeded" else 0)
    if expected == "failed":
        error = result.rows[1].error
        assert error is not None and "gave no answer" in error["reason"]
        assert "fix: try later" in error["reason"]


async def test_a_hook_failure_that_will_not_pass_fails_the_row_at_once(tmp_path: Path) -> None:
    clock = VirtualClock()

    def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
        if values["id"] == 2:
            raise WeftError("row 2 names no such model")
        return values

    result, notices = await _three_items(
        tmp_path, clock, OutageTransport(clock, 0), hooks=RowHooks(prepare_inputs=prepare)
    )
    assert [r.status for r in result.rows] == ["succeeded", "failed", "succeeded"]
    assert notices == [] and clock.now == 0.0  # no pause


async def test_cancelled_batch_resumes_unfinished_runs(tmp_path: Path) -> None:
    doc = write_items_docs(tmp_path)
    store = tmp_path / "s.db"
    rows = [{"id": i} for i in range(1, 21)]
    with ItemsServer(delay=0.05, expected_token=TOKEN) as items:
        opts = {"defaults": {"token": TOKEN}, "servers": {"items": items.base_url}}
        finished: list[int] = []
        reached = asyncio.Event()

        def done(row: object) -> None:
            finished.append(row.row)  # type: ignore[attr-defined]
            if len(finished) >= 6:
                reached.set()

        task = asyncio.ensure_future(
            run_batch(doc, rows, concurrency=4, store=store, on_row_done=done, **opts)  # type: ignore[arg-type]
        )
        await reached.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with open_store(store) as opened:
            statuses = [r.status for r in opened.list_runs(limit=None)]
        assert statuses.count("succeeded") == len(finished) and "running" in statuses
        before = dict(items.requests)
        again = await run_batch(doc, rows, concurrency=4, store=store, **opts)  # type: ignore[arg-type]
        assert again.ok and again.reused == len(finished) and again.resumed >= 1
        assert [r.outputs["double"] for r in again.rows] == [2 * i for i in range(1, 21)]
        for row in finished:  # finished rows were not sent again
            assert items.requests[row] == before[row] == 1


async def test_a_row_is_reported_only_once_its_run_is_finished_in_the_store(
    tmp_path: Path, items: ItemsServer
) -> None:
    """A results line must never run ahead of the store: after a kill -9 the line's row would
    otherwise be run again (its buffered 'finished' record lost)."""
    doc = write_items_docs(tmp_path)
    path = tmp_path / "s.db"
    seen_in_store: list[str] = []
    with open_store(path, flush_interval=3600.0) as store:  # buffered until flushed

        def done(row: object) -> None:
            with open_store(path) as reader:  # a second connection sees only what is committed
                stored = reader.get_run(row.run_id)  # type: ignore[attr-defined]
                seen_in_store.append(stored.status if stored else "absent")

        result = await run_batch(
            doc, [{"id": i} for i in range(1, 6)], defaults={"token": TOKEN}, concurrency=2,
            servers={"items": items.base_url}, store=store, on_row_done=done,
        )  # fmt: skip
    assert result.ok and seen_in_store == ["succeeded"] * 5
