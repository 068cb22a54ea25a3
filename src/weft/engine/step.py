"""One step execution: the wait before it (pacing, ``Retry-After``), the bounds, the request
and its answer, the success criteria, the outputs, the record and the events.

The :class:`StepExecutor` runs operation steps whole (:meth:`~StepExecutor.attempt`). A step
that calls a workflow is run by the flow loop, which brackets the child workflow with
:meth:`~StepExecutor.begin` and :meth:`~StepExecutor.end` so both kinds share one bookkeeping.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from time import perf_counter
from typing import Any

from weft.effects import (
    Frozen,
    HttpRequest,
    HttpResponse,
    Transport,
    TransportError,
    TransportErrorKind,
)
from weft.engine.auth import Authorized, AuthProblem, RunAuth
from weft.engine.failure import (
    CheckFinding,
    CriterionFailure,
    Failure,
    FailureKind,
    StepStatus,
    server_message,
)
from weft.engine.journal import Journal
from weft.engine.options import NO_RETRY
from weft.engine.pacing import parse_retry_after
from weft.engine.plan import StepPlan
from weft.engine.requests import BuiltRequest, RequestBuildError, build_request
from weft.engine.resend import send_with_retries
from weft.engine.response_checks import Findings, ResponseChecker
from weft.engine.responses import evaluate_outputs, failed_criterion
from weft.engine.result import RunEvent, StepResult, masked_exchange
from weft.engine.run_state import RunState
from weft.engine.state import Frame, note_unmasked
from weft.expressions.context import EvalContext
from weft.openapi.bodies import parse_body

EventCallback = Callable[[RunEvent], Any]


@dataclass(slots=True)
class Attempt:
    """How one execution of a step went: ``ctx`` holds its exchange for actions and outputs."""

    success: bool
    ctx: EvalContext
    failure: Failure | None = None
    warnings: tuple[CheckFinding, ...] = ()  # response checks of severity warn


@dataclass(slots=True)
class Begun:
    """A step execution under way (from :meth:`StepExecutor.begin`)."""

    result: StepResult
    attempt: int
    started: float


class StepExecutor:
    """Executes steps of a run's frames (see the module docstring)."""

    __slots__ = (
        "_recorded",
        "_rng",
        "auth",
        "checker",
        "exchange_events",
        "journal",
        "on_event",
        "started_events",
        "state",
        "transport",
    )

    def __init__(
        self,
        state: RunState,
        journal: Journal,
        transport: Transport,
        on_event: EventCallback | None,
    ) -> None:
        self.state = state
        self.journal = journal
        self.transport = transport
        self.on_event = on_event
        # a listener may say it does nothing with step_started events (the progress printer)
        self.started_events = on_event is not None and getattr(on_event, "wants_step_started", True)
        # ``exchange`` events (each request and answer, bodies included) only when asked for
        self.exchange_events = on_event is not None and getattr(on_event, "wants_exchanges", False)
        self._rng = _RunRandom(state.run_id)  # retry jitter, repeatable per run
        self._recorded = False  # the run's start was made durable (``run_recorded`` sent)
        self.auth = RunAuth(state.options.auth, state.secrets, transport)
        checks = state.options.checks
        self.checker = ResponseChecker(checks) if checks.enabled else None

    def jitter(self) -> float:
        """A random number in [0, 1) for a jittered wait (repeatable per run id)."""
        return self._rng.random()

    # -- bracketing ---------------------------------------------------------------------------
    async def begin(self, frame: Frame, sp: StepPlan) -> Begun:
        """Wait as pacing or ``Retry-After`` asks, check the bounds, count the execution."""
        state = self.state
        self.journal.settle()
        state.failed_stack = None
        sid = sp.step_id
        visits = frame.visits.get(sid, 0)
        state.check_max_steps(sid)
        delay = frame.delay
        frame.delay = None
        if delay is None and visits > 0:
            header = frame.retry_after.get(sid)
            pace = sp.pace or state.options.pace
            delay = header if header is not None else pace.delay(visits)
        on_event = self.on_event
        wf_id = sp.workflow_id
        if delay:
            await self._wait(frame, sp, delay, visits + 1)
        if state.deadline is not None:
            state.check_deadline(sid, 0.0)
        state.executions += 1
        frame.visits[sid] = visits + 1
        sr = state.step_result(wf_id, sid)
        sr.attempts += 1
        attempt_no = sr.attempts
        if self.started_events:
            assert on_event is not None
            on_event(
                RunEvent("step_started", state.run_id, wf_id, sid, attempt_no, depth=frame.depth)
            )
        frame.last_ctx = None  # the previous exchange is no longer anyone's to read
        return Begun(sr, attempt_no, perf_counter())

    async def _wait(self, frame: Frame, sp: StepPlan, delay: float, attempt: int) -> None:
        self._before_wait(frame, sp, delay, attempt)
        await self.state.clock.sleep(delay)

    def _before_wait(self, frame: Frame, sp: StepPlan, delay: float, attempt: int) -> None:
        """A wait is about to start: within the run's timeout, announced, records written."""
        state = self.state
        state.check_deadline(sp.step_id, delay)
        if self.on_event is not None:
            self.on_event(
                RunEvent(
                    "waiting",
                    state.run_id,
                    sp.workflow_id,
                    sp.step_id,
                    delay=delay,
                    attempt=attempt,
                    depth=frame.depth,
                )
            )
        self.journal.flush()

    def end(
        self,
        frame: Frame,
        sp: StepPlan,
        begun: Begun,
        result: Attempt,
        summary: dict[str, Any] | None = None,
    ) -> Attempt:
        """Outputs (on success), the step result, the record and the ``step_finished`` event."""
        state = self.state
        sid = sp.step_id
        sr = begun.result
        ctx = result.ctx
        success = result.success
        if success:
            if sp.outputs or sp.kind != "workflow":
                outputs, errors = evaluate_outputs(sp.outputs, ctx, sp.step.outputs)
            else:  # a step calling a workflow, with no outputs of its own: the workflow's
                outputs, errors = dict(ctx.outputs), {}
            frame.step_outputs[sid] = outputs
            sr.output_errors = errors
            sr.outputs = state.secrets.mask(outputs)
            if sr.outputs is outputs:  # nothing to mask: snapshots take it as it is too
                note_unmasked(frame, sid, outputs, state.secrets, state.secret_by_value)
            sr.status = StepStatus.SUCCEEDED
            sr.failure = None
        else:
            sr.status = StepStatus.FAILED
            failure = result.failure
            if failure is not None:
                failure = failure.at(sid, sp.workflow_id)
                if state.secrets:
                    failure = failure.masked(state.secrets)
                result.failure = failure
            sr.failure = failure
        if frame.depth:
            # only a nested workflow's last exchange is read later: by the parent's step
            # ($response of the child's last step); a top frame keeps none (bodies are large)
            frame.last_ctx = ctx
        elapsed = perf_counter() - begun.started
        code = ctx.status_code
        if type(code) is not int:
            code = code if isinstance(code, int) else None
        sr.add_code(code)
        sr.duration += elapsed
        sr.last_duration = elapsed
        attempt_no = begun.attempt
        if self.journal.active:
            # Frozen: the parts (outputs, request summary) are replaced later, never edited
            record: dict[str, Any] = Frozen(
                stepId=sid,
                workflowId=sp.workflow_id,
                attempt=attempt_no,
                statusCode=code,
                success=success,
                duration=elapsed,
                reason=sr.failure.reason if sr.failure is not None else None,
                outputs=sr.outputs if success else {},
            )
            if sr.failure is not None:
                record["failure"] = sr.failure.to_dict()
            if summary is not None:
                record["request"] = summary
            if result.warnings:
                record["checks"] = [f.to_dict() for f in result.warnings]
            # recorded with the state once the flow loop has decided what comes next
            self.journal.attempt(sp, attempt_no, record)
        on_event = self.on_event
        if on_event is not None:
            if result.warnings:
                on_event(
                    RunEvent(
                        "response_check",
                        state.run_id,
                        sp.workflow_id,
                        sid,
                        attempt_no,
                        code,
                        failure=Failure(
                            FailureKind.RESPONSE_CHECK,
                            step_id=sid,
                            workflow_id=sp.workflow_id,
                            status_code=code,
                            findings=result.warnings,
                        ),
                        depth=frame.depth,
                    )
                )
            on_event(
                RunEvent(
                    "step_finished",
                    state.run_id,
                    sp.workflow_id,
                    sid,
                    attempt_no,
                    code,
                    success,
                    elapsed,
                    sr.outputs if success else None,
                    sr.failure,
                    depth=frame.depth,
                )
            )
        return result

    # -- operation steps ----------------------------------------------------------------------
    async def attempt(self, frame: Frame, sp: StepPlan) -> Attempt:
        """Execute an operation step once (with its automatic resends; see :meth:`_send`)."""
        begun = await self.begin(frame, sp)
        result, summary = await self._operation(frame, sp, begun.attempt)
        return self.end(frame, sp, begun, result, summary)

    async def _operation(
        self, frame: Frame, sp: StepPlan, attempt_no: int
    ) -> tuple[Attempt, dict[str, Any] | None]:
        state = self.state
        # one context for the attempt: parameters evaluate against it before the request
        # fields are set, criteria and outputs after
        ctx = state.context(frame)
        memo = state.memo
        auth = self.auth
        plan = frame.plan
        try:
            base = memo.base_url(sp, state.options.servers, state.source_urls)
            built = build_request(sp, ctx, base, state.secrets, memo.added_secrets, memo.requests)
            plain = built  # before credentials (a refresh adds new ones to it)
            authorized: Authorized | None = None
            if auth.security(sp, plan.loaded).needed:
                authorized = await auth.apply(sp, plan.loaded, plan.workflow, ctx, built, base)
                built = authorized.built
        except RequestBuildError as exc:
            unbuilt = Failure(FailureKind.REQUEST_NOT_BUILT, detail=str(exc))
            return Attempt(False, ctx, unbuilt), None
        except AuthProblem as exc:
            refused = Failure(FailureKind.AUTH, scheme=exc.scheme, detail=exc.detail)
            return Attempt(False, ctx, refused), None
        summary = None
        journal = self.journal
        resend_safe = sp.idempotent or built.idempotency_key is not None
        if journal.active:
            summary = memo.summary(sp, built, state.secrets)
            if not sp.idempotent and not self._recorded:
                # the first request that may act: after it, the run can be resumed by its id
                self._recorded = True
                journal.ensure_started()
                if self.on_event is not None:
                    self.on_event(RunEvent("run_recorded", state.run_id, sp.workflow_id))
            if not resend_safe:
                journal.write_ahead(sp, attempt_no, summary)
            elif not sp.idempotent:
                # resend-safe only through its idempotency key, and the key may come from the
                # run (Civitai's externalId from the run id): the run must be findable by resume
                # before the request can have an effect, or a re-run sends it again under a new
                # run id and key. No write-ahead: the recorder makes the run's start durable.
                journal.ensure_started()
        response, failure = await self._send(frame, sp, built, resend_safe)
        if response is not None and response.status == 401 and authorized and authorized.tokens:
            # an OAuth2 token the server no longer takes: a new one, and the request once more
            try:
                authorized = await auth.refreshed(
                    sp, plan.loaded, plan.workflow, ctx, plain, base, authorized
                )
            except AuthProblem as exc:
                refused = Failure(FailureKind.AUTH, scheme=exc.scheme, detail=exc.detail)
                return Attempt(False, ctx, refused), summary
            built = authorized.built
            response, failure = await self._send(frame, sp, built, resend_safe)
        request = built.request
        ctx.url = request.url
        ctx.method = request.method
        ctx.request_headers = built.headers
        ctx.request_query = built.query
        ctx.request_path = built.path
        ctx.request_body = built.body
        if response is None:
            frame.retry_after.pop(sp.step_id, None)
            return Attempt(False, ctx, failure), summary
        headers = response.headers
        ctx.status_code = response.status
        ctx.response_headers = headers
        ctx.response_body = parse_body(response.body, headers.get("content-type"))
        warnings: tuple[CheckFinding, ...] = ()
        if self.checker is not None:
            found = self._check(frame, sp, response, ctx)
            if found.errors:
                checked = Failure(
                    FailureKind.RESPONSE_CHECK,
                    status_code=response.status,
                    findings=tuple(found.errors),
                )
                return Attempt(False, ctx, checked, tuple(found.warnings)), summary
            warnings = tuple(found.warnings)
        retry_after = headers.get("retry-after")
        ra = None if retry_after is None else parse_retry_after(retry_after, state.clock.time())
        if ra is None:
            frame.retry_after.pop(sp.step_id, None)
        else:
            frame.retry_after[sp.step_id] = ra
        failed = failed_criterion(sp.criteria, ctx)
        if failed is None:
            return Attempt(True, ctx, None, warnings), summary
        return Attempt(False, ctx, response_failure(ctx, failed), warnings), summary

    def _check(
        self, frame: Frame, sp: StepPlan, response: HttpResponse, ctx: EvalContext
    ) -> Findings:
        """The response checks' findings (``--check-responses``), secrets masked."""
        checker = self.checker
        op = sp.operation
        assert checker is not None and op is not None
        source = frame.plan.loaded.sources.get(op.source)
        description = source.openapi if source is not None else None
        found = checker.check(
            op, description, response.status, response.headers, ctx.response_body,
            len(response.body),
        )  # fmt: skip
        secrets = self.state.secrets
        if secrets and (found.errors or found.warnings):
            found.errors = [replace(f, message=secrets.mask_str(f.message)) for f in found.errors]
            found.warnings = [
                replace(f, message=secrets.mask_str(f.message)) for f in found.warnings
            ]
        return found

    async def _send(
        self, frame: Frame, sp: StepPlan, built: BuiltRequest, resend_safe: bool
    ) -> tuple[HttpResponse | None, Failure | None]:
        """Send the request. When no answer comes (connection refused or reset, timeout) and
        sending again is safe, send it again after a jittered, growing wait, as the run's
        :class:`~weft.engine.options.RetryPolicy` says."""
        state = self.state
        policy = state.options.retry if resend_safe else NO_RETRY

        def waiting(delay: float, attempt: int, why: str) -> None:
            self._before_wait(frame, sp, delay, attempt)

        sender: Transport = _TimedTransport(self.transport, state, sp.timeout)
        if self.exchange_events:
            sender = _ExchangeEvents(sender, self, frame, sp)
        try:
            response = await send_with_retries(
                sender,
                built.request,
                policy=policy,
                clock=state.clock,
                rng=self._rng,
                on_wait=waiting,
            )
        except TransportError as exc:
            return None, Failure(FailureKind.TRANSPORT, transport=exc.kind, detail=exc.detail)
        return response, None


class _RunRandom:
    """The run's jitter: a :class:`random.Random` seeded with the run id, made on first use
    (its state is 2.5 KB, and most runs never wait for a retry)."""

    __slots__ = ("_random", "_seed")

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._random: random.Random | None = None

    def _get(self) -> random.Random:
        rng = self._random
        if rng is None:
            rng = self._random = random.Random(self._seed)
        return rng

    def random(self) -> float:
        return self._get().random()

    def uniform(self, a: float, b: float) -> float:
        return self._get().uniform(a, b)


class _TimedTransport:
    """The run's transport with the step's ``timeout`` and the run's deadline applied to each
    send (an answer that does not come in time is a ``timeout`` transport error)."""

    __slots__ = ("inner", "limit", "state")

    def __init__(self, inner: Transport, state: RunState, limit: float | None) -> None:
        self.inner = inner
        self.state = state
        self.limit = limit

    async def send(self, request: HttpRequest) -> HttpResponse:
        state = self.state
        limit = self.limit
        if state.deadline is not None:
            remaining = max(state.deadline - state.clock.monotonic(), 0.001)
            limit = remaining if limit is None else min(limit, remaining)
        if limit is None:
            return await self.inner.send(request)
        try:
            async with asyncio.timeout(limit):
                return await self.inner.send(request)
        except TimeoutError:
            raise TransportError(
                TransportErrorKind.TIMEOUT, f"no answer within {limit:g} s"
            ) from None


class _ExchangeEvents:
    """A step's transport that reports each exchange (an ``exchange`` event, secrets masked)."""

    __slots__ = ("depth", "executor", "inner", "sp")

    def __init__(self, inner: Transport, executor: StepExecutor, frame: Frame, sp: StepPlan):
        self.inner, self.executor, self.depth, self.sp = inner, executor, frame.depth, sp

    async def send(self, request: HttpRequest) -> HttpResponse:
        state = self.executor.state
        started, began = state.clock.time(), perf_counter()
        response = error = None
        try:
            response = await self.inner.send(request)
            return response
        except TransportError as exc:
            error = exc
            raise
        finally:
            sp, code = self.sp, None if response is None else response.status
            exchange = masked_exchange(
                state.secrets, request.method, request.url, request.headers, request.body,
                started, perf_counter() - began, status=code,
                response_headers=None if response is None else response.headers,
                response_body=None if response is None else response.body,
                final_url=None if response is None else response.url,
                error=None if error is None else error.kind.value,
                detail=None if error is None else error.detail,
            )  # fmt: skip
            attempt = state.step_result(sp.workflow_id, sp.step_id).attempts
            assert self.executor.on_event is not None
            self.executor.on_event(
                RunEvent("exchange", state.run_id, sp.workflow_id, sp.step_id, attempt, code,
                         elapsed=exchange.elapsed, depth=self.depth, exchange=exchange)
            )  # fmt: skip


def response_failure(ctx: EvalContext, failed: tuple[int, Any, str | None]) -> Failure:
    """The failure of an answer whose criteria did not pass (``failed``: the criterion's index,
    the criterion and its explanation, from ``failed_criterion``; no criterion when the step has
    no criteria and the status is not 2xx)."""
    code = ctx.status_code if isinstance(ctx.status_code, int) else None
    criterion = None
    if failed is not None and failed[1] is not None:
        index, condition, explanation = failed
        criterion = CriterionFailure(
            index=index,
            condition=str(getattr(condition, "text", condition)),
            type=str(getattr(condition, "kind", "simple")),
            explanation=explanation,
        )
    error_status = code is not None and code >= 400
    return Failure(
        FailureKind.HTTP_STATUS if error_status else FailureKind.CRITERIA_NOT_MET,
        status_code=code,
        criterion=criterion,
        server=server_message(ctx.response_body) if error_status else None,
    )


__all__ = ["Attempt", "Begun", "EventCallback", "StepExecutor", "response_failure"]
