"""Live progress on stderr, for every command that runs workflows: one line per event of a run
(:class:`ProgressPrinter`, an ``on_event`` callback), and a batch's progress
(:func:`batch_display`: a rich bar on a terminal, periodic plain lines otherwise).

A command tailors the run lines with ``step_line`` (the Civitai command shows status changes
and queue positions instead of every poll).

Plain lines of finished steps are written in small batches: a line waits at most
:data:`FLUSH_INTERVAL` (50 ms) in memory, so a fast loop costs a few writes per second instead of
one per step. Every other line (run start and end, a wait before a step) writes what is pending
at once, and so does the end of the process.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
import time
import weakref
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Protocol, TextIO

from weft.engine.result import RunEvent

if TYPE_CHECKING:
    from weft.batch.results import BatchProgress

StepLine = Callable[[RunEvent], str | None]

FLUSH_INTERVAL = 0.05  # seconds a finished step's plain line may wait before it is written


class ProgressPrinter:
    """An ``on_event`` callback that writes step, attempt, status code and time."""

    wants_step_started = False  # it writes nothing for them: the engine need not build them

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        color: bool | None = None,
        step_line: StepLine | None = None,
        run_lines: bool = True,
    ) -> None:
        """``step_line(event)``: the line for a finished step (None: no line), instead of the
        default one. ``run_lines=False``: no lines for the run's start and end (the command
        prints its own summary)."""
        self.stream = stream or sys.stderr
        self.step_line = step_line
        self.run_lines = run_lines
        self.color = self.stream.isatty() if color is None else color
        self._console = None
        self._pending: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._exit_hook: object = None
        if self.color:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False)

    def __call__(self, event: RunEvent) -> None:
        kind = event.kind
        if kind == "step_started":
            return  # no line (``format`` gives none)
        if kind in ("run_started", "run_finished") and not self.run_lines:
            return
        if kind == "step_finished" and self.step_line is not None:
            line: str | None = self.step_line(event)
            style: str | None = None
        else:
            line, style = self.format(event)
        if line is None:
            return
        if self._console is not None:
            self._console.print(line, style=style, markup=False)
            return
        self._pending.append(line)
        if kind == "step_finished" and self._later():
            return
        self.flush()

    def _later(self) -> bool:
        """Arrange for the pending lines to be written within ``FLUSH_INTERVAL``; ``False``
        when that cannot be arranged (no running event loop): write them now."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._timer is not None:
            if self._timer_loop is loop:
                return True
            self._timer.cancel()  # left by a loop that has ended
        self._timer = loop.call_later(FLUSH_INTERVAL, self.flush)
        self._timer_loop = loop
        if self._exit_hook is None:
            ref = weakref.ref(self)

            def at_exit() -> None:
                printer = ref()
                if printer is not None:
                    printer.flush()

            self._exit_hook = at_exit
            atexit.register(at_exit)
        return True

    def flush(self) -> None:
        """Write the pending lines now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            text = "\n".join(self._pending) + "\n"
            self._pending.clear()
            self.stream.write(text)
            self.stream.flush()

    @staticmethod
    def format(event: RunEvent) -> tuple[str | None, str | None]:
        indent = "  " * event.depth
        where = f"{event.workflow_id}/{event.step_id}" if event.step_id else event.workflow_id
        if event.kind == "run_started":
            return f"run {event.run_id} {event.workflow_id}", "bold"
        if event.kind == "waiting":
            return f"{indent}  … {where} waiting {event.delay:g}s", "dim"
        if event.kind == "step_finished":
            code = "-" if event.status_code is None else str(event.status_code)
            mark = "ok" if event.success else "FAILED"
            text = f"{indent}{where} #{event.attempt} {code} {event.elapsed * 1000:.0f}ms {mark}"
            if not event.success and event.reason:
                text += f": {event.reason}"
            elif event.outputs:
                shown = str(event.outputs)
                if len(shown) <= 120:
                    if type(event.outputs) is not dict:
                        shown = str(dict(event.outputs))
                    text += f" {shown}"
            return text, "green" if event.success else "red"
        if event.kind == "response_check" and event.failure is not None:
            return f"{indent}  ! {where} #{event.attempt} {event.failure.reason}", "yellow"
        if event.kind == "run_finished":
            text = f"{event.status} {event.workflow_id}"
            result = event.result
            if result is not None and result.error is not None:
                text += f" at {result.error.step}: {result.error.reason}"
            return text, "bold green" if event.status == "succeeded" else "bold red"
        return None, None


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


class BatchDisplay(Protocol):
    def start(self) -> None: ...

    def update(self, p: BatchProgress) -> None: ...

    def stop(self) -> None: ...


def batch_display(total: int, *, stream: IO[str] | None = None) -> BatchDisplay:
    """A batch's progress: a rich bar when the stream is a terminal, plain periodic lines
    otherwise."""
    target = stream or sys.stderr
    if target.isatty():
        return RichProgress(total)
    return PlainProgress(target)


__all__ = [
    "FLUSH_INTERVAL",
    "BatchDisplay",
    "PlainProgress",
    "ProgressPrinter",
    "RichProgress",
    "StepLine",
    "batch_display",
    "describe",
]
