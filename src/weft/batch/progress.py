"""A batch's progress on stderr: a rich bar on a terminal, periodic plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from weft.batch.results import BatchProgress


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = round(seconds)
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    if whole >= 60:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole}s"


def describe(p: BatchProgress) -> str:
    """One line: ``40/100 done · 2 failed · 8 in flight · 5.1 rows/s · ETA 12s``."""
    parts = [f"{p.done}/{p.total} done", f"{p.failed} failed", f"{p.in_flight} in flight"]
    if p.reused:
        parts.append(f"{p.reused} reused")
    parts.append(f"{p.rate:.1f} rows/s")
    parts.append(f"ETA {_duration(p.eta)}")
    return " · ".join(parts)


class PlainProgress:
    """A line on ``stream`` at most every ``interval`` seconds, and one at the end."""

    def __init__(self, stream: IO[str] | None = None, interval: float = 2.0) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0
        self._latest: BatchProgress | None = None

    def start(self) -> None:
        self._last = time.monotonic()

    def update(self, p: BatchProgress) -> None:
        self._latest = p
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._write(p)

    def _write(self, p: BatchProgress) -> None:
        self.stream.write(f"batch: {describe(p)}\n")
        self.stream.flush()

    def stop(self) -> None:
        if self._latest is not None:
            self._write(self._latest)


class RichProgress:
    """A live bar: done / failed / in flight / rate / ETA."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task("batch", total=total, detail="")

    def start(self) -> None:
        self._progress.start()

    def update(self, p: BatchProgress) -> None:
        detail = (
            f"[red]{p.failed} failed[/] · {p.in_flight} in flight · {p.rate:.1f} rows/s"
            f" · ETA {_duration(p.eta)}"
        )
        if p.reused:
            detail += f" · {p.reused} reused"
        self._progress.update(self._task, completed=p.done, detail=detail)

    def stop(self) -> None:
        self._progress.stop()


def progress_display(total: int, *, stream: IO[str] | None = None) -> Any:
    """A rich bar when stderr is a terminal, plain periodic lines otherwise."""
    target = stream or sys.stderr
    if target.isatty():
        return RichProgress(total)
    return PlainProgress(target)


__all__ = ["PlainProgress", "RichProgress", "describe", "progress_display"]
