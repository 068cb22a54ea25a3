"""Live progress on stderr: one plain line per event, or rich styling on a terminal."""

from __future__ import annotations

import sys
from typing import TextIO

from weft.engine.result import RunEvent


class ProgressPrinter:
    """An ``on_event`` callback that writes step, attempt, status code and time."""

    def __init__(self, stream: TextIO | None = None, *, color: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.color = self.stream.isatty() if color is None else color
        self._console = None
        if self.color:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False)

    def __call__(self, event: RunEvent) -> None:
        line, style = self.format(event)
        if line is None:
            return
        if self._console is not None:
            self._console.print(line, style=style, markup=False)
        else:
            self.stream.write(line + "\n")
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
            elif event.outputs and len(str(event.outputs)) <= 120:
                text += f" {dict(event.outputs)}"
            return text, "green" if event.success else "red"
        if event.kind == "run_finished":
            text = f"{event.status} {event.workflow_id}"
            result = event.result
            if result is not None and result.error is not None:
                text += f" at {result.error.step}: {result.error.reason}"
            return text, "bold green" if event.status == "succeeded" else "bold red"
        return None, None


__all__ = ["ProgressPrinter"]
