"""Admission: a batch starts at most ``admit_per_turn`` runs per pass of the event loop, so that
starting thousands of runs never keeps the loop from reading answers and firing timers."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import orjson

from weft.batch import run_batch
from weft.batch.admission import Admission
from weft.batch.runner import BatchOptions
from weft.effects import HttpRequest, HttpResponse

from .items import write_items_docs


class CountingLoop(asyncio.SelectorEventLoop):
    """An event loop that counts its passes (one pass runs what was ready when it began)."""

    passes = 0

    def _run_once(self) -> None:
        self.passes += 1
        super()._run_once()  # type: ignore[misc]


def run_counted(main: object) -> None:
    with asyncio.Runner(loop_factory=CountingLoop) as runner:
        runner.run(main)  # type: ignore[arg-type]


def test_no_pass_of_the_loop_admits_more_than_per_turn() -> None:
    admitted: Counter[int] = Counter()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, CountingLoop)
        gate = Admission(per_turn=3)

        async def start() -> None:
            await gate.admit()
            admitted[loop.passes] += 1

        await asyncio.gather(*(start() for _ in range(40)))

    run_counted(main())
    assert sum(admitted.values()) == 40
    assert max(admitted.values()) == 3  # in order, three per pass: never more
    assert len(admitted) == 14  # ceil(40 / 3) passes


def test_a_caller_cancelled_while_waiting_gives_up_its_place() -> None:
    async def main() -> list[int]:
        gate = Admission(per_turn=1)
        order: list[int] = []

        async def start(i: int) -> None:
            await gate.admit()
            order.append(i)

        tasks = [asyncio.ensure_future(start(i)) for i in range(5)]
        await asyncio.sleep(0)  # every caller is waiting now
        tasks[1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return order

    assert asyncio.run(main()) == [0, 2, 3, 4]


class InstantItems:
    """The items API answered in memory, at once: nothing slows the runs but the engine."""

    async def send(self, request: HttpRequest) -> HttpResponse:
        item = int(request.url.split("/items/")[1].split("?")[0])
        body = orjson.dumps({"id": item, "double": item * 2, "label": "l", "flag": "f"})
        return HttpResponse(200, {"content-type": "application/json"}, body, request.url)


def test_a_batch_starts_at_most_admit_per_turn_runs_per_pass(tmp_path: Path) -> None:
    doc = write_items_docs(tmp_path)
    started: Counter[int] = Counter()

    def prepare(values: dict[str, object], run_id: str) -> dict[str, object]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, CountingLoop)
        started[loop.passes] += 1
        return values

    async def main() -> None:
        result = await run_batch(
            doc, [{"id": i} for i in range(1, 61)], defaults={"token": "t0k3n-secret"},
            batch=BatchOptions(concurrency=60, admit_per_turn=4), transport=InstantItems(),
            servers={"items": "http://127.0.0.1:9"}, store=tmp_path / "s.db",
            prepare_inputs=prepare,
        )  # fmt: skip
        assert result.ok and result.total == 60

    run_counted(main())
    assert sum(started.values()) == 60
    assert max(started.values()) <= 4  # 60 workers, all free at once: four runs per pass
