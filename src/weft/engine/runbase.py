"""Runner state shared by the step attempt, the workflow loop and the entry points.

:class:`RunnerBase` holds what one run knows (options, frames, counters, secrets) and the small
services every part uses: bounds, outputs, snapshots, checkpoints and events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from weft.effects import Clock, Frozen, NullRecorder, RunRecorder, Transport
from weft.engine.pacing import DEFAULT_PACE, Pace
from weft.engine.plan import WorkflowPlan
from weft.engine.responses import evaluate_outputs
from weft.engine.result import RunError, RunEvent, StepResult
from weft.engine.state import SNAPSHOT_VERSION, Frame, frame_to_dict
from weft.expressions.context import ABSENT, EvalContext
from weft.secrets import SecretSet

if TYPE_CHECKING:
    from weft.document import LoadedDocument

EventCallback = Callable[[RunEvent], Any]
_EMPTY: Mapping[str, Any] = {}  # never written to


class BoundHit(Exception):
    def __init__(self, step: str | None, reason: str) -> None:
        super().__init__(reason)
        self.step = step
        self.reason = reason


@dataclass(slots=True)
class Outcome:
    status: str
    error: RunError | None = None
    ended_by: tuple[str, str] | None = None  # (stepId, action name) of an `end`


@dataclass(slots=True)
class Attempt:
    success: bool
    ctx: EvalContext
    reason: str | None = None


class RunnerBase:
    def __init__(
        self,
        loaded: LoadedDocument,
        *,
        transport: Transport,
        clock: Clock,
        recorder: RunRecorder | None = None,
        servers: Mapping[str, str] | None = None,
        strict: bool = False,
        max_steps: int = 1000,
        timeout: float | None = None,
        pace: Pace = DEFAULT_PACE,
        on_event: EventCallback | None = None,
        run_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        resend: bool = False,
    ) -> None:
        self.loaded = loaded
        self.transport = transport
        self.clock = clock
        self.recorder: RunRecorder = recorder or NullRecorder()
        self.recording = not isinstance(self.recorder, NullRecorder)
        self._flush: Callable[[], Any] | None = self.recorder.flush if self.recording else None
        # make the run's start durable before a keyed non-idempotent request (see attempt.py)
        self._ensure_started: Callable[[str], Any] | None = (
            self.recorder.ensure_started if self.recording else None
        )
        # the last attempt's (step_key, attempt, record), until the engine knows where control
        # goes next: then it is recorded together with that state (see ``checkpoint``)
        self._record: tuple[str, int, dict[str, Any]] | None = None
        self._step_dicts: dict[int, tuple[StepResult, int, float, str, dict[str, Any]]] = {}
        self.servers = dict(servers or {})
        self.strict = strict
        self.max_steps = max_steps
        self.timeout = timeout
        self.pace = pace
        self.on_event = on_event
        # a listener may say it does nothing with step_started events (the progress printer)
        self._started_events = on_event is not None and getattr(
            on_event, "wants_step_started", True
        )
        self.run_id = run_id or uuid.uuid4().hex
        self.labels = labels
        self.resend = resend
        self.secrets = SecretSet()
        self.secret_by_value: dict[str, str] = {}
        self.stack: list[Frame] = []
        self.restored: list[Frame] = []
        self.workflows: dict[str, dict[str, Any]] = {}
        self.step_results: dict[tuple[str, str], StepResult] = {}
        self.executions = 0
        self.elapsed_before = 0.0
        self.started = 0.0
        self.deadline: float | None = None
        self.in_flight: dict[str, Any] | None = None
        self.workflow_id = ""
        self._seq = 0
        self._sources = {name: {"url": s.url, "type": s.type} for name, s in loaded.sources.items()}
        raw = loaded.document.raw if isinstance(loaded.document.raw, dict) else {}
        comps = raw.get("components")
        self._components: dict[str, Any] = comps if isinstance(comps, dict) else {}
        self._source_urls = {name: s.url for name, s in loaded.sources.items()}
        # per-run caches of the hot path, keyed by id(StepPlan) (the plan is kept with the key)
        self._bases: dict[int, tuple[Any, str]] = {}
        self._summaries: dict[int, tuple[Any, ...]] = {}
        self._added_secrets: set[str] = set()  # header values already given to ``secrets``
        self._requests: dict[int, tuple[Any, ...]] = {}  # each step's last request (polls)
        self._options: tuple[Pace, dict[str, Any]] | None = None

    def _context(self, frame: Frame) -> EvalContext:
        """``exchange_context(None, None, …)`` of the frame: no request, no response yet."""
        # every field given: the dataclass calls no default factories
        return EvalContext(
            ABSENT,
            ABSENT,
            ABSENT,
            _EMPTY,
            _EMPTY,
            _EMPTY,
            ABSENT,
            _EMPTY,
            ABSENT,
            frame.inputs,
            _EMPTY,
            frame.step_outputs,
            self.workflows,
            self._sources,
            self._components,
            _EMPTY,
            ABSENT,
            ABSENT,
        )

    # -- bounds, outputs, records -------------------------------------------------------------
    def _check_deadline(self, step_id: str, delay: float) -> None:
        if self.deadline is not None and self.clock.monotonic() + delay > self.deadline:
            raise BoundHit(step_id, f"timeout reached ({self.timeout:g} s)")

    def _workflow_outputs(self, frame: Frame) -> tuple[dict[str, Any], dict[str, str]]:
        ctx = self._context(frame)
        return evaluate_outputs(frame.plan.outputs, ctx, frame.plan.workflow.outputs)

    def _learn_secrets(self, plan: WorkflowPlan, inputs: Mapping[str, Any]) -> None:
        for name in plan.secret_inputs:
            value = inputs.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool):
                self.secrets.add(value)
                self.secret_by_value[str(value)] = name

    def snapshot(self) -> dict[str, Any]:
        """The resumable state (no secrets). :class:`Frozen`: nothing in it is changed later
        (parts reused from one snapshot to the next are never edited)."""
        elapsed = self.elapsed_before + (self.clock.monotonic() - self.started)
        self._seq += 1
        workflows = self.workflows
        return Frozen(
            {
                "v": SNAPSHOT_VERSION,
                "seq": self._seq,
                "runId": self.run_id,
                "options": self._snapshot_options(),
                "workflowId": self.workflow_id,
                "document": self.loaded.document.uri,
                "documentHash": self.loaded.document.content_hash,
                "executions": self.executions,
                "elapsed": elapsed,
                "frames": [
                    frame_to_dict(f, self.secrets, self.secret_by_value) for f in self.stack
                ],
                # a copy: the engine adds workflows to its own dict as they finish
                "workflows": (self.secrets.mask(workflows) if self.secrets else dict(workflows))
                if workflows
                else {},
                "steps": self._steps_dicts(),
                "inFlight": self.in_flight,
            }
        )

    def _snapshot_options(self) -> dict[str, Any]:
        """The run's options as snapshots hold them, rebuilt only when one changes."""
        cached = self._options
        if (
            cached is not None
            and cached[0] is self.pace
            and cached[1]["servers"] == self.servers
            and cached[1]["strict"] == self.strict
            and cached[1]["maxSteps"] == self.max_steps
            and cached[1]["timeout"] == self.timeout
        ):
            return cached[1]
        options = {
            "servers": dict(self.servers),
            "strict": self.strict,
            "maxSteps": self.max_steps,
            "timeout": self.timeout,
            "pace": self.pace.spec(),
        }
        self._options = (self.pace, options)
        return options

    def _steps_dicts(self) -> list[dict[str, Any]]:
        """``[sr.to_dict() …]`` of every step result, each reused while that step has not run
        again (every change to a step's result comes with a new attempt count or a longer
        duration)."""
        out = []
        cache = self._step_dicts
        for sr in self.step_results.values():
            hit = cache.get(id(sr))
            if (
                hit is not None
                and hit[0] is sr
                and hit[1] == sr.attempts
                and hit[2] == sr.duration
                and hit[3] == sr.status
            ):
                out.append(hit[4])
            else:
                d = sr.to_dict()
                cache[id(sr)] = (sr, sr.attempts, sr.duration, sr.status, d)
                out.append(d)
        return out

    def checkpoint(self) -> None:
        """Record the current state, with the last attempt's record if it is still unrecorded."""
        if self.recording:
            self.in_flight = None
            record = self._record
            if record is None:
                self.recorder.checkpoint(self.run_id, state=self.snapshot())
            else:
                self._record = None
                step_key, attempt, data = record
                self.recorder.attempt_finished(
                    self.run_id,
                    step_key=step_key,
                    attempt=attempt,
                    record=data,
                    state=self.snapshot(),
                )

    def _settle(self) -> None:
        """Record a pending attempt record now (before another attempt, a workflow, the end)."""
        if self._record is not None:
            self.checkpoint()

    def _flush_recorder(self) -> None:
        """Let the recorder write what it buffers: the engine is about to sleep."""
        if self._flush is not None:
            self._flush()

    def _emit(self, event: RunEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)


__all__ = ["Attempt", "BoundHit", "EventCallback", "Outcome", "RunnerBase"]
