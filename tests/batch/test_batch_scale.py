"""Batches of any size: rows read as they are needed and not kept (``keep_rows=False``), the
results file rewritten in row order from itself, and a concurrency the open-files limit cannot
hold capped (and said)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

import weft.batch.runner as runner_module
from weft.batch import BatchRow, RowResult, run_batch
from weft.batch.results_file import ResultsFile
from weft.batch.runner import BatchOptions, RowHooks
from weft.effects import HttpRequest, HttpResponse

from .items import ItemsServer, write_items_docs
from .test_admission import InstantItems


class SlowItems(InstantItems):
    """Answers after a short wait, so that runs overlap."""

    async def send(self, request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0.002)
        return await super().send(request)


def _rows_file(folder: Path, count: int) -> Path:
    path = folder / "rows.jsonl"
    path.write_bytes(b"".join(orjson.dumps({"id": i}) + b"\n" for i in range(1, count + 1)))
    return path


async def test_rows_are_read_as_needed_and_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = write_items_docs(tmp_path)
    rows = _rows_file(tmp_path, 300)
    read = 0
    real = runner_module.iter_rows

    def counting(path: Path) -> object:
        nonlocal read
        for row in real(path):
            read += 1
            yield row

    monkeypatch.setattr(runner_module, "iter_rows", counting)
    ahead: list[int] = []
    finished = 0
    done: list[RowResult] = []

    def prepare(values: dict[str, object], run_id: str) -> dict[str, object]:
        ahead.append(read - finished)  # rows read whose run has not ended, as a run starts
        return values

    async def finish_row(row: RowResult) -> RowResult:
        nonlocal finished
        finished += 1
        return row

    hooks = RowHooks(prepare_inputs=prepare, finish_row=finish_row)
    result = await run_batch(
        doc, rows, defaults={"token": "t0k3n-secret"}, concurrency=5, hooks=hooks,
        transport=SlowItems(), servers={"items": "http://127.0.0.1:9"},
        store=tmp_path / "s.db", on_row_done=done.append, keep_rows=False,
    )  # fmt: skip
    assert result.rows == []  # nothing kept: the rows went to on_row_done
    assert (result.total, result.succeeded, result.failed, result.ok) == (300, 300, 0, True)
    assert sorted(r.row for r in done) == list(range(1, 301))
    assert read == 300
    # no more rows are read than are in flight (5), however long the file
    assert max(ahead) == 5
    summary = result.to_dict()
    assert summary["total"] == 300 and summary["rows"] == []


def test_the_results_file_is_rewritten_in_row_order_from_itself(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    # an earlier run of a longer inputs file left rows 1..4, the last line cut short by a kill
    path.write_bytes(
        b'{"row":4,"line":4,"runId":"old4","status":"failed","error":{"reason":"x"}}\n'
        b'{"row":1,"line":1,"runId":"old1","status":"failed","error":{"reason":"x"}}\n'
        b'{"row":3,"line":3,"runId":"old3","status":"succ'
    )
    results = ResultsFile(path)
    for number in (2, 1, 3):
        results.add(RowResult(number, number, f"new{number}", "succeeded", {"n": number}))
    results.finish(rows=3)  # the batch ran to its end over three rows
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [(d["row"], d["runId"]) for d in lines] == [(1, "new1"), (2, "new2"), (3, "new3")]

    interrupted = ResultsFile(path)
    interrupted.add(RowResult(5, 5, "new5", "succeeded"))
    interrupted.finish()  # interrupted: every row the file holds is kept, the latest line wins
    rows = [orjson.loads(line)["row"] for line in path.read_bytes().splitlines()]
    assert rows == [1, 2, 3, 5]


_CAPPED = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    from weft.batch import run_batch
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))  # this process only
    notices = []
    result = asyncio.run(run_batch(
        sys.argv[1], [{"id": i} for i in range(1, 301)], defaults={"token": "t0k3n-secret"},
        concurrency=1000, servers={"items": sys.argv[2]}, store=sys.argv[3],
        on_notice=notices.append, keep_rows=False,
    ))
    print(json.dumps({"notices": notices, "total": result.total, "ok": result.succeeded}))
    """
)


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_NOFILE")
def test_a_concurrency_beyond_the_open_files_limit_is_capped_and_said(tmp_path: Path) -> None:
    doc = write_items_docs(tmp_path)
    with ItemsServer(delay=0.05) as items:
        proc = subprocess.run(
            [sys.executable, "-c", _CAPPED, str(doc), items.base_url, str(tmp_path / "s.db")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        peak = items.max_in_flight
    assert proc.returncode == 0, proc.stderr
    out = orjson.loads(proc.stdout.strip().splitlines()[-1])
    assert out["total"] == 300 and out["ok"] == 300  # no run failed for want of a descriptor
    (notice,) = out["notices"]
    pool = 200 - 64  # the limit, less the descriptors kept for the store, files and stdio
    assert notice.startswith(f"at most {pool} runs at once: concurrency 300 needs")
    assert "ulimit -n" in notice
    assert 1 <= peak <= pool


def test_batch_options_refuse_a_bad_admission_rate() -> None:
    from weft.errors import UsageError

    for bad in (0, -1, True, 1.5):
        with pytest.raises(UsageError):
            BatchOptions(admit_per_turn=bad)  # type: ignore[arg-type]
    assert BatchRow(1, 1, {"a": 1}).digest == BatchRow(2, 7, {"a": 1}).digest
