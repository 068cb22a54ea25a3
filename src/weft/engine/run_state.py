"""What one run knows as it goes: its options, the stack of workflow frames, step results,
counters, the secrets it has seen, and the resumable snapshot of all that.

:class:`RunState` is shared by the parts of a run (the step executor, the flow loop, the
journal); it does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from weft.effects import Clock, Frozen
from weft.engine.failure import Bound, Failure, FailureKind
from weft.engine.memo import RunMemo
from weft.engine.options import RunOptions
from weft.engine.plan import WorkflowPlan
from weft.engine.responses import evaluate_outputs
from weft.engine.result import StepResult
from weft.engine.state import SNAPSHOT_VERSION, Frame, frame_to_dict
from weft.expressions.context import ABSENT, EvalContext
from weft.secrets import SecretSet

if TYPE_CHECKING:
    from weft.document import LoadedDocument

_EMPTY: Mapping[str, Any] = {}  # never written to


@dataclass(frozen=True, slots=True)
class DocumentView:
    """What runtime expressions read of one Arazzo document."""

    sources: dict[str, dict[str, Any]]
    components: dict[str, Any]
    self_uri: str
    source_urls: dict[str, str]  # where each source was loaded from (the default servers)

    @classmethod
    def of(cls, loaded: LoadedDocument) -> DocumentView:
        """The view of ``loaded``: made once per loaded document (runs only read it)."""
        hit = _VIEWS.get(id(loaded))
        if hit is not None and hit[0] is loaded:
            return hit[1]
        doc = loaded.document
        sources = {
            sd.name: {"url": sd.url, "type": sd.type or "openapi"} for sd in doc.source_descriptions
        }
        raw = doc.raw if isinstance(doc.raw, dict) else {}
        comps = raw.get("components")
        # $self: the document's own `$self` (resolved), else where it was loaded from
        view = cls(
            sources,
            comps if isinstance(comps, dict) else {},
            doc.base_uri or doc.uri,
            {name: s.url for name, s in loaded.sources.items()},
        )
        if len(_VIEWS) > 64:
            _VIEWS.clear()
        _VIEWS[id(loaded)] = (loaded, view)
        return view


# per process: each loaded document's view, each options object's snapshot (both only read; the
# object is kept with its entry, so an id is never taken for another object's)
_VIEWS: dict[int, tuple[LoadedDocument, DocumentView]] = {}
_OPTION_SNAPSHOTS: dict[int, tuple[RunOptions, dict[str, Any]]] = {}


def _options_snapshot(options: RunOptions) -> dict[str, Any]:
    """``options.to_snapshot()``, made once per options object (a batch shares one)."""
    hit = _OPTION_SNAPSHOTS.get(id(options))
    if hit is not None and hit[0] is options:
        return hit[1]
    snapshot = options.to_snapshot()
    if len(_OPTION_SNAPSHOTS) > 64:
        _OPTION_SNAPSHOTS.clear()
    _OPTION_SNAPSHOTS[id(options)] = (options, snapshot)
    return snapshot


class BoundHit(Exception):
    """A bound of the run (max steps, timeout) was hit: the run ends with ``failure``."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


class RunState:
    """The state of one run (see the module docstring)."""

    def __init__(
        self,
        loaded: LoadedDocument,
        options: RunOptions,
        clock: Clock,
        run_id: str,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.loaded = loaded
        self.options = options
        self.clock = clock
        self.run_id = run_id
        self.labels = labels
        self.secrets = SecretSet()
        self.secret_by_value: dict[str, str] = {}  # a secret value -> the input that refills it
        self.stack: list[Frame] = []
        self.restored: list[Frame] = []  # nested frames of a resumed run, not re-entered yet
        self.workflows: dict[str, dict[str, Any]] = {}  # finished workflows: inputs, outputs
        self.step_results: dict[tuple[str, str], StepResult] = {}
        self.executions = 0
        self.elapsed_before = 0.0  # seconds the run took before it was resumed
        self.started = 0.0
        self.deadline: float | None = None
        self.in_flight: dict[str, Any] | None = None  # a request that is not resend-safe
        # the stack as it was when a step failed and ended its workflow (deepest frame last),
        # until another step begins: a failed run is recorded at that position, so resume
        # can continue at the step that failed even inside a nested workflow
        self.failed_stack: list[Frame] | None = None
        self.workflow_id = ""
        self.seq = 0
        self.memo = RunMemo()
        # what $sourceDescriptions, $components and $self read, per document (a nested
        # workflow may live in another Arazzo document)
        self._documents: dict[int, tuple[LoadedDocument, DocumentView]] = {}
        view = self.view = self.document_view(loaded)
        self.sources = view.sources
        self.components = view.components
        self.source_urls = view.source_urls
        self._options_snapshot: dict[str, Any] = _options_snapshot(options)

    # -- time and bounds ----------------------------------------------------------------------
    def start_clock(self) -> None:
        self.started = self.clock.monotonic()
        timeout = self.options.timeout
        if timeout is not None:
            self.deadline = self.started + timeout - self.elapsed_before

    def elapsed(self) -> float:
        return self.elapsed_before + (self.clock.monotonic() - self.started)

    def check_deadline(self, step_id: str, delay: float) -> None:
        """Raise :class:`BoundHit` when waiting ``delay`` seconds would pass the run's timeout."""
        if self.deadline is not None and self.clock.monotonic() + delay > self.deadline:
            timeout = self.options.timeout
            raise BoundHit(
                Failure(FailureKind.BOUND, step_id=step_id, bound=Bound.TIMEOUT, limit=timeout)
            )

    def check_max_steps(self, step_id: str) -> None:
        """Raise :class:`BoundHit` when one more step execution would pass ``max_steps``."""
        limit = self.options.max_steps
        if self.executions >= limit:
            raise BoundHit(
                Failure(FailureKind.BOUND, step_id=step_id, bound=Bound.MAX_STEPS, limit=limit)
            )

    # -- evaluation ---------------------------------------------------------------------------
    def document_view(self, loaded: LoadedDocument) -> DocumentView:
        """What expressions read of a document: ``$sourceDescriptions.<name>.url``/``.type`` as
        the document writes them, its components, and ``$self``."""
        hit = self._documents.get(id(loaded))
        if hit is not None and hit[0] is loaded:
            return hit[1]
        view = DocumentView.of(loaded)
        self._documents[id(loaded)] = (loaded, view)
        return view

    def context(self, frame: Frame) -> EvalContext:
        """The evaluation context of ``frame`` before a request: no request, no response."""
        loaded = frame.plan.loaded
        view = self.view if loaded is self.loaded else self.document_view(loaded)
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
            view.sources,
            view.components,
            _EMPTY,
            ABSENT,
            view.self_uri,
        )

    def workflow_outputs(self, frame: Frame) -> tuple[dict[str, Any], dict[str, str]]:
        return evaluate_outputs(
            frame.plan.outputs, self.context(frame), frame.plan.workflow.outputs
        )

    def learn_secrets(self, plan: WorkflowPlan, inputs: Mapping[str, Any]) -> None:
        for name in plan.secret_inputs:
            value = inputs.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool):
                self.secrets.add(value)
                self.secret_by_value[str(value)] = name

    def step_result(self, workflow_id: str, step_id: str) -> StepResult:
        key = (workflow_id, step_id)
        sr = self.step_results.get(key)
        if sr is None:
            sr = self.step_results[key] = StepResult(step_id, workflow_id)
        return sr

    # -- the resumable snapshot ---------------------------------------------------------------
    def snapshot(self) -> Frozen:
        """The resumable state (no secrets). :class:`Frozen`: nothing in it is changed later
        (parts reused from one snapshot to the next are never edited)."""
        self.seq += 1
        workflows = self.workflows
        secrets = self.secrets
        return Frozen(
            {
                "v": SNAPSHOT_VERSION,
                "seq": self.seq,
                "runId": self.run_id,
                "options": self._options_snapshot,
                "workflowId": self.workflow_id,
                "document": self.loaded.document.uri,
                "documentHash": self.loaded.document.content_hash,
                "executions": self.executions,
                "elapsed": self.elapsed(),
                "frames": [frame_to_dict(f, secrets, self.secret_by_value) for f in self.stack],
                # a dict of its own: the engine adds workflows to its dict as they finish, and
                # ``mask`` gives the very dict back when no secret is in it (each entry is
                # replaced, never edited, so a shallow copy is enough)
                "workflows": dict(secrets.mask(workflows) if secrets else workflows)
                if workflows
                else {},
                "steps": [self.memo.step_dict(sr) for sr in self.step_results.values()],
                "inFlight": self.in_flight,
            }
        )


__all__ = ["BoundHit", "RunState"]
