"""A run's timeline: one lane per step, one bar per attempt on a time axis (seconds from the
run's start), built from what the run store kept or from the events of a live run.

What the store keeps decides how exact the bars are (see ``weft.store``): an unfinished run
keeps each step's first and last few attempts (with when each ended and how long it took) and
how many there were; a failed run keeps only the last attempt of each step; a run that
succeeded keeps its result (each step's attempt count, status codes and total time) and no
times of single attempts. :attr:`Timeline.notes` says what was not kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from weft.store.records import StoredAttempt, StoredRun


@dataclass(frozen=True, slots=True)
class Bar:
    """One attempt: ``start``/``end`` in seconds from the run's start. ``exact``: its times
    were recorded (else it is placed from the step's totals)."""

    attempt: int
    start: float
    end: float
    status_code: int | None
    success: bool | None
    exact: bool = True
    kind: str = "attempt"  # "attempt", or "wait" (a delay before the next attempt)


@dataclass(slots=True)
class Lane:
    """A step's row: its bars, its attempt count, and the attempts drawn as one grey span
    because the store did not keep them (``hidden``, between ``hidden_from``/``hidden_to``)."""

    key: str  # "<workflowId>/<stepId>"
    step_id: str
    workflow_id: str
    attempts: int
    bars: list[Bar] = field(default_factory=list)
    hidden: int = 0
    hidden_from: float = 0.0
    hidden_to: float = 0.0

    @property
    def end(self) -> float:
        ends = [b.end for b in self.bars]
        if self.hidden:
            ends.append(self.hidden_to)
        return max(ends, default=0.0)


@dataclass(slots=True)
class Timeline:
    lanes: list[Lane] = field(default_factory=list)
    span: float = 0.0  # seconds the axis covers
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.lanes


def _code(record: Mapping[str, Any]) -> int | None:
    code = record.get("statusCode")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _split_key(key: str, default_workflow: str) -> tuple[str, str]:
    workflow, sep, step = key.partition("/")
    return (workflow, step) if sep else (default_workflow, key)


def from_stored(run: StoredRun) -> Timeline:
    """The timeline of a stored run (see the module docstring for what is exact)."""
    if run.steps:
        return _from_stats(run)
    result = run.result if run.result is not None else run.to_result()
    return from_result_steps(result.get("steps") or [], run.workflow_id, run.status)


def _from_stats(run: StoredRun) -> Timeline:
    t0 = run.created_at
    kept: dict[str, list[StoredAttempt]] = {}
    for attempt in run.attempts:
        kept.setdefault(attempt.step_key, []).append(attempt)
    timeline = Timeline()
    missing = 0
    for stats in sorted(run.steps, key=lambda s: s.position):
        workflow, step = _split_key(stats.step_key, run.workflow_id)
        lane = Lane(stats.step_key, step, workflow, stats.attempts)
        attempts = sorted(kept.get(stats.step_key, []), key=lambda a: a.seq)
        by_seq: dict[int, Bar] = {}
        for item in attempts:
            record = item.record
            end = item.created_at - t0
            success = record.get("success")
            bar = Bar(
                int(record.get("attempt") or item.attempt),
                max(end - _number(record.get("duration")), 0.0),
                end,
                _code(record),
                success if isinstance(success, bool) else None,
            )
            by_seq[item.seq] = bar
            lane.bars.append(bar)
        gaps = [seq for seq in range(1, stats.attempts + 1) if seq not in by_seq]
        if gaps:  # drawn as one span, from the kept attempt before to the kept one after
            before, after = by_seq.get(gaps[0] - 1), by_seq.get(gaps[-1] + 1)
            lane.hidden = len(gaps)
            lane.hidden_from = before.end if before is not None else max(stats.first_at - t0, 0)
            lane.hidden_to = max(
                after.start if after is not None else stats.last_at - t0, lane.hidden_from
            )
        missing += lane.hidden
        timeline.lanes.append(lane)
    timeline.span = max([run.updated_at - t0, *(lane.end for lane in timeline.lanes)], default=0.0)
    if missing:
        kept_rule = (
            "the last attempt of each step"
            if run.status == "failed"
            else "each step's first and last attempts"
        )
        timeline.notes.append(
            f"{missing} older attempt{'s' if missing != 1 else ''} not kept: the store keeps "
            f"{kept_rule} and how many there were (grey spans)"
        )
    return timeline


def from_result_steps(steps: Iterable[Any], workflow_id: str, status: str = "") -> Timeline:
    """A timeline from a result's steps (``RunResult.to_dict()["steps"]``): each step's
    attempts laid end to end from its total time, the last one with its own duration."""
    timeline = Timeline()
    clock = 0.0
    for step in steps:
        if not isinstance(step, Mapping) or not isinstance(step.get("stepId"), str):
            continue
        workflow = str(step.get("workflowId") or workflow_id)
        attempts = int(step.get("attempts") or 0)
        lane = Lane(f"{workflow}/{step['stepId']}", str(step["stepId"]), workflow, attempts)
        codes: Sequence[Any] = step.get("statusCodes") or []
        total = _number(step.get("duration"))
        last = _number(step.get("lastDuration")) or (total / attempts if attempts else 0.0)
        each = (total - last) / (attempts - 1) if attempts > 1 else 0.0
        shown = min(attempts, len(codes)) if codes else attempts
        first_shown = attempts - shown + 1
        if first_shown > 1:
            lane.hidden = first_shown - 1
            lane.hidden_from = clock
            clock += each * lane.hidden
            lane.hidden_to = clock
        step_ok = step.get("status") == "succeeded"
        for n in range(first_shown, attempts + 1):
            length = last if n == attempts else each
            code = codes[n - attempts - 1] if codes and n - attempts - 1 >= -len(codes) else None
            ok = step_ok if n == attempts else None
            lane.bars.append(
                Bar(n, clock, clock + length, code if isinstance(code, int) else None, ok, False)
            )
            clock += length
        timeline.lanes.append(lane)
    timeline.span = clock
    if timeline.lanes:
        why = "a run that succeeded" if status == "succeeded" else "this run"
        timeline.notes.append(
            f"the store keeps no times of single attempts for {why}: each step's attempts are "
            "laid end to end from its total time (the last one with its own duration)"
        )
    return timeline


@dataclass(slots=True)
class _Open:
    start: float
    lane: Lane


class TimelineBuilder:
    """Builds an exact timeline from a live run's events (see :mod:`weft.reports.collector`):
    ``started``/``finished``/``waited`` with times in seconds from the run's start."""

    def __init__(self) -> None:
        self.timeline = Timeline()
        self._lanes: dict[str, Lane] = {}
        self._open: dict[tuple[str, int], _Open] = {}

    def _lane(self, workflow_id: str, step_id: str) -> Lane:
        key = f"{workflow_id}/{step_id}"
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = Lane(key, step_id, workflow_id, 0)
            self.timeline.lanes.append(lane)
        return lane

    def started(self, workflow_id: str, step_id: str, attempt: int, at: float) -> None:
        lane = self._lane(workflow_id, step_id)
        self._open[(lane.key, attempt)] = _Open(at, lane)

    def finished(
        self,
        workflow_id: str,
        step_id: str,
        attempt: int,
        at: float,
        elapsed: float,
        status_code: int | None,
        success: bool | None,
    ) -> None:
        lane = self._lane(workflow_id, step_id)
        opened = self._open.pop((lane.key, attempt), None)
        start = opened.start if opened is not None else max(at - elapsed, 0.0)
        lane.attempts = max(lane.attempts, attempt)
        lane.bars.append(Bar(attempt, start, at, status_code, success))
        self.timeline.span = max(self.timeline.span, at)

    def waited(self, workflow_id: str, step_id: str, attempt: int, at: float, delay: float) -> None:
        lane = self._lane(workflow_id, step_id)
        lane.bars.append(Bar(attempt, at, at + delay, None, None, kind="wait"))
        self.timeline.span = max(self.timeline.span, at + delay)

    def finish(self, at: float) -> Timeline:
        self.timeline.span = max(self.timeline.span, at)
        return self.timeline


__all__ = ["Bar", "Lane", "Timeline", "TimelineBuilder", "from_result_steps", "from_stored"]
