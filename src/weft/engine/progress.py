"""Live progress on stderr: one plain line per event, or rich styling on a terminal.

Plain lines of finished steps are written in small batches: a line waits at most
:data:`FLUSH_INTERVAL` (50 ms) in memory, so a fast loop costs a few writes per second instead of
one per step. Every other line (run start and end, a wait before a step) writes what is pending
at once, and so does the end of the process.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
import weakref
from typing import TextIO

from weft.engine.result import RunEvent

FLUSH_INTERVAL = 0.05  # seconds a finished step's plain line may wait before it is written


class ProgressPrinter:
    """An ``on_event`` callback that writes step, attempt, status code and time."""

    wants_step_started = False  # it writes nothing for them: the engine need not build them

    def __init__(self, stream: TextIO | None = None, *, color: bool | None = None) -> None:
        self.stream = stream or sys.stderr
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
        if event.kind == "run_finished":
            text = f"{event.status} {event.workflow_id}"
            result = event.result
            if result is not None and result.error is not None:
                text += f" at {result.error.step}: {result.error.reason}"
            return text, "bold green" if event.status == "succeeded" else "bold red"
        return None, None


__all__ = ["FLUSH_INTERVAL", "ProgressPrinter"]
