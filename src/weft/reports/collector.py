"""What a live run tells its ``on_event`` listeners, kept for its reports.

:class:`RunCollector` is an ``on_event`` callback: it keeps the exact timeline of the run
(each attempt's start and end, each wait), each attempt's outcome, and — when asked with
``exchanges=True`` — every HTTP exchange (the engine then sends ``exchange`` events; secrets
are masked by the engine before any listener sees them). :class:`EventFanout` hands one run's
events to several listeners (the progress printer and the collector), each getting only the
kinds it asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from weft.engine.failure import Failure
from weft.engine.result import Exchange, RunEvent, RunResult
from weft.reports.timeline import Timeline, TimelineBuilder

Listener = Callable[[RunEvent], Any]


@dataclass(frozen=True, slots=True)
class AttemptTrace:
    """One finished attempt of a step, as the events told it."""

    workflow_id: str
    step_id: str
    attempt: int
    status_code: int | None
    success: bool | None
    elapsed: float
    outputs: Mapping[str, Any] | None
    failure: Failure | None


@dataclass(frozen=True, slots=True)
class ExchangeTrace:
    """One exchange and the step attempt that sent it."""

    workflow_id: str
    step_id: str
    attempt: int
    exchange: Exchange


class RunCollector:
    """An ``on_event`` listener keeping what a run's reports need (see the module docstring)."""

    wants_step_started = True

    def __init__(self, *, exchanges: bool = False) -> None:
        self.wants_exchanges = exchanges
        self.run_id: str | None = None
        self.workflow_id: str | None = None
        self.started_at: float | None = None  # wall clock, seconds since the epoch
        self.result: RunResult | None = None
        self.attempts: list[AttemptTrace] = []
        self.exchanges: list[ExchangeTrace] = []
        self._t0: float | None = None
        self._timeline = TimelineBuilder()
        self._ended: float | None = None

    def _now(self) -> float:
        if self._t0 is None:
            self._t0 = perf_counter()
            self.started_at = time.time()
        return perf_counter() - self._t0

    def __call__(self, event: RunEvent) -> None:
        at = self._now()
        kind = event.kind
        step = event.step_id
        if kind == "run_started" and self.run_id is None:
            self.run_id, self.workflow_id = event.run_id, event.workflow_id
        elif kind == "step_started" and step is not None:
            self._timeline.started(event.workflow_id, step, event.attempt, at)
        elif kind == "step_finished" and step is not None:
            self._timeline.finished(
                event.workflow_id,
                step,
                event.attempt,
                at,
                event.elapsed,
                event.status_code,
                event.success,
            )
            self.attempts.append(
                AttemptTrace(
                    event.workflow_id,
                    step,
                    event.attempt,
                    event.status_code,
                    event.success,
                    event.elapsed,
                    dict(event.outputs) if event.outputs is not None else None,
                    event.failure,
                )
            )
        elif kind == "waiting" and step is not None and event.delay:
            self._timeline.waited(event.workflow_id, step, event.attempt, at, event.delay)
        elif kind == "exchange" and step is not None and event.exchange is not None:
            self.exchanges.append(
                ExchangeTrace(event.workflow_id, step, event.attempt, event.exchange)
            )
        elif kind == "run_finished":
            self.result = event.result
            self._ended = at
            if self.run_id is None:
                self.run_id, self.workflow_id = event.run_id, event.workflow_id

    def timeline(self) -> Timeline:
        """The run's exact timeline (every attempt and wait, as it happened)."""
        end = self._ended if self._ended is not None else (self._now() if self._t0 else 0.0)
        return self._timeline.finish(end)


class EventFanout:
    """One ``on_event`` for several listeners. A listener gets ``step_started`` events unless
    its ``wants_step_started`` is false, and ``exchange`` events only when its
    ``wants_exchanges`` is true; the engine builds either kind only if some listener wants it."""

    def __init__(self, *listeners: Listener | None) -> None:
        self.listeners = [listener for listener in listeners if listener is not None]
        self._started = [
            listener for listener in self.listeners if getattr(listener, "wants_step_started", True)
        ]
        self._exchanges = [
            listener for listener in self.listeners if getattr(listener, "wants_exchanges", False)
        ]
        self.wants_step_started = bool(self._started)
        self.wants_exchanges = bool(self._exchanges)

    def __call__(self, event: RunEvent) -> None:
        kind = event.kind
        if kind == "step_started":
            targets = self._started
        elif kind == "exchange":
            targets = self._exchanges
        else:
            targets = self.listeners
        for listener in targets:
            listener(event)


__all__ = ["AttemptTrace", "EventFanout", "ExchangeTrace", "Listener", "RunCollector"]
