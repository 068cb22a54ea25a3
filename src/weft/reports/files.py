"""The report files a command writes (``--report``, ``--junit``, ``--har``).

```python
files = ReportFiles.build(html="run.html", junit="junit.xml", har="run.har")  # UsageError early
on_event = files.listen(ProgressPrinter())      # the printer, plus a collector when needed
result = await run_async(..., on_event=on_event, recorder=store)
written = files.write_run(result, store)        # after the run (store: None when not recorded)
written = files.write_batch(store, results_path)  # after a batch: its rows' runs, from the store
```

Each file is written whole under a temporary name and renamed into place.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import orjson

from weft.engine.failure import Failure
from weft.engine.result import RunResult
from weft.errors import UsageError
from weft.reports.collector import EventFanout, Listener, RunCollector
from weft.reports.har import har_bytes, har_log
from weft.reports.html import batch_report, run_report
from weft.reports.junit import junit_xml
from weft.reports.view import RunView, view_of_live, view_of_stored
from weft.store.protocol import RunStore


def _target(value: str | os.PathLike[str] | None, option: str) -> Path | None:
    if value is None or str(value) == "":
        return None
    path = Path(value)
    if path.is_dir():
        raise UsageError(
            f"{option} {path} is a directory", hint=f"give a file name, e.g. {option} {path}/out"
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(
            f"cannot write {option} {path}",
            why=f"the folder {parent} does not exist",
            hint=f"create it first (mkdir -p {parent})",
        )
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole (a temporary file renamed over it); a
    :class:`~weft.errors.UsageError` naming the file when it cannot be written."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}", why=exc.strerror or str(exc)) from None


class ReportFiles:
    """The report files one command was asked for, and what they are built from."""

    def __init__(
        self, html: Path | None = None, junit: Path | None = None, har: Path | None = None
    ):
        self.html = html
        self.junit = junit
        self.har = har
        self.collector: RunCollector | None = None

    @classmethod
    def build(
        cls,
        html: str | os.PathLike[str] | None = None,
        junit: str | os.PathLike[str] | None = None,
        har: str | os.PathLike[str] | None = None,
    ) -> ReportFiles:
        """The files, checked before anything runs (their folder exists, none is a folder)."""
        return cls(_target(html, "--report"), _target(junit, "--junit"), _target(har, "--har"))

    @property
    def wanted(self) -> bool:
        return any(p is not None for p in (self.html, self.junit, self.har))

    def listen(self, listener: Listener) -> Listener:
        """``listener``, plus the collector the run's reports are built from when any is
        wanted (exchanges too for ``--har`` and ``--report``)."""
        if not self.wanted:
            return listener
        self.collector = RunCollector(exchanges=self.har is not None or self.html is not None)
        return EventFanout(listener, self.collector)

    def write_run(self, result: RunResult, store: RunStore | None = None) -> list[Path]:
        """Write the run's files (after :meth:`listen` and the run); which were written."""
        if not self.wanted:
            return []
        collector = self.collector or RunCollector()
        stored = store.get_run(result.run_id) if store is not None else None
        view = view_of_live(collector, result, stored)
        written: list[Path] = []
        if self.html is not None:
            write_atomically(self.html, run_report(view).encode("utf-8"))
            written.append(self.html)
        if self.junit is not None:
            write_atomically(self.junit, junit_xml([view]))
            written.append(self.junit)
        if self.har is not None:
            har = har_log(
                collector.exchanges,
                run_id=result.run_id,
                workflow_id=result.workflow_id,
                started_at=collector.started_at,
            )
            write_atomically(self.har, har_bytes(har))
            written.append(self.har)
        return written

    def write_batch(
        self, store: RunStore, results: Path, *, title: str = "weft batch"
    ) -> list[Path]:
        """Write a batch's files from its results file (a line per row, with its run id) and
        the rows' runs in ``store``."""
        if not self.wanted:
            return []
        views = batch_views(store, results)
        written: list[Path] = []
        if self.html is not None:
            write_atomically(self.html, batch_report(views, title).encode("utf-8"))
            written.append(self.html)
        if self.junit is not None:
            write_atomically(self.junit, junit_xml(views, name=title))
            written.append(self.junit)
        return written


def batch_views(store: RunStore, results: Path, image_roots: Sequence[Path] = ()) -> list[RunView]:
    """A view per row of a batch's results file, in row order: the row's run from the store,
    or (a row that failed before a run started, or whose run is gone) its recorded reason."""
    rows: dict[int, dict[str, object]] = {}
    try:
        text = results.read_bytes()
    except OSError:
        text = b""
    for line in text.splitlines():
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict) and isinstance(value.get("row"), int):
            rows[value["row"]] = value
    ids = [str(r["runId"]) for r in rows.values() if isinstance(r.get("runId"), str)]
    stored = {run.run_id: run for run in store.get_runs(ids)} if ids else {}
    views = []
    for number in sorted(rows):
        row = rows[number]
        run = stored.get(str(row.get("runId")))
        if run is not None:
            view = view_of_stored(run, image_roots)
            view.row = str(number)
            views.append(view)
            continue
        error = row.get("error")
        views.append(
            RunView(
                run_id=str(row.get("runId") or f"row-{number}"),
                workflow_id="",
                status=str(row.get("status") or "failed"),
                failure=Failure.from_dict(error) if isinstance(error, dict) else None,
                row=str(number),
                notes=["no run of this row is in the store"],
            )
        )
    return views


__all__ = ["ReportFiles", "batch_views", "write_atomically"]
