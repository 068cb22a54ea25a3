"""The library entry points: ``weft.run``, ``weft.run_async``, ``weft.resume`` and
``weft.resume_async``.

Options may be given as one :class:`~weft.engine.options.RunOptions` (``options=``) or as
keywords (``servers=``, ``strict=``, ``max_steps=``, ``timeout=``, ``pace=``, ``retry=``,
``auth=``, ``check_responses=``), which are checked and folded into one ``RunOptions`` here, at
the boundary. ``http=`` (:class:`~weft.effects.http_options.HttpOptions`) configures the
transport weft creates when none is given.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from weft.effects import Clock, RunRecorder, Transport
from weft.effects.http_options import HttpOptions
from weft.engine.credentials import EMPTY_AUTH, AuthConfig
from weft.engine.options import RetryPolicy, RunOptions
from weft.engine.pacing import Pace
from weft.engine.response_checks import ResponseChecks
from weft.engine.result import RunResult, RunStatus
from weft.engine.runner import EventCallback, RunEffects, Runner
from weft.errors import DocumentError, UsageError

if TYPE_CHECKING:
    from weft.document import LoadedDocument
    from weft.store import RunStore


@asynccontextmanager
async def transport_scope(
    transport: Transport | None, http: HttpOptions | None = None
) -> AsyncIterator[Transport]:
    """The caller's transport as it is, or a pooled aiohttp one (configured by ``http``)
    closed afterwards."""
    if transport is not None:
        yield transport
        return
    from weft.effects.aiohttp_transport import AiohttpTransport

    own = AiohttpTransport(http)
    try:
        yield own
    finally:
        await own.close()


def load_document(document: str | os.PathLike[str] | LoadedDocument) -> LoadedDocument:
    """A loaded document: ``document`` itself when it is one, else loaded from its path/URL."""
    from weft.document import LoadedDocument, load

    if isinstance(document, LoadedDocument):
        return document
    return load(os.fspath(document))


class InvalidDocumentError(DocumentError):
    """The document has errors that make a run impossible (the findings of ``weft validate``).
    ``diagnostics`` holds them; the message lists them as ``weft validate`` prints them."""

    def __init__(self, uri: str, diagnostics: list[Any]) -> None:
        from weft.document import render_diagnostics

        self.diagnostics = diagnostics
        count = len(diagnostics)
        super().__init__(
            f"the document has {count} error{'s' if count != 1 else ''} and cannot be run:\n"
            + render_diagnostics(diagnostics),
            where=uri,
            hint=f"fix them (`weft validate {uri}` shows them, `weft lint` suggests fixes)",
        )


_RUNNABLE: dict[tuple[int, bool], LoadedDocument] = {}


def ensure_runnable(loaded: LoadedDocument, *, strict: bool = False) -> None:
    """Refuse a document that ``weft validate`` finds errors in (checked once per loaded
    document): :class:`InvalidDocumentError`, exit 2. Warnings do not stop a run."""
    key = (id(loaded), strict)
    if _RUNNABLE.get(key) is loaded:
        return
    from weft.document import check_runnable

    errors = [d for d in check_runnable(loaded, strict=strict) if d.severity == "error"]
    if errors:
        raise InvalidDocumentError(loaded.document.uri, errors)
    if len(_RUNNABLE) > 64:
        _RUNNABLE.clear()
    _RUNNABLE[key] = loaded


def with_credentials(
    options: RunOptions, auth: AuthConfig | Mapping[str, Any] | None
) -> RunOptions:
    """``options`` with ``auth`` as its credentials; without any (none given, none in
    ``options``), the ``WEFT_AUTH_*`` environment variables are read here."""
    if auth is not None:
        return RunOptions.build(options, auth=auth)
    if options.auth is EMPTY_AUTH:
        return RunOptions.build(options, auth=AuthConfig.from_environment())
    return options


def new_run_id() -> str:
    from weft.store.ids import new_run_id as make

    return make()


async def run_async(
    document: str | os.PathLike[str] | LoadedDocument,
    workflow_id: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    *,
    options: RunOptions | None = None,
    servers: Mapping[str, str] | None = None,
    strict: bool | None = None,
    max_steps: int | None = None,
    timeout: float | None = None,
    pace: Pace | str | float | list[float] | None = None,
    retry: RetryPolicy | int | None = None,
    auth: AuthConfig | Mapping[str, Any] | None = None,
    check_responses: ResponseChecks | bool | None = None,
    http: HttpOptions | None = None,
    on_event: EventCallback | None = None,
    recorder: RunRecorder | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
    run_id: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> RunResult:
    """Run a workflow of an Arazzo document (path, URL or a loaded document).

    ``servers`` overrides a source's server URL by source name; ``pace`` sets loop pacing
    (``"off"``, a number, a list of delays); ``retry`` the automatic retries of resend-safe
    requests that got no answer. ``auth`` gives credentials for the sources' security
    schemes (``{"SCHEME" or "SOURCE.SCHEME": value}``; ``WEFT_AUTH_*`` variables are read
    too); a scheme a step needs and has no credential for raises
    :class:`~weft.engine.auth_check.MissingCredentialError` before anything is sent.
    ``check_responses`` checks answers against the descriptions. ``recorder`` receives the
    durable record (e.g. a ``weft.store`` store); ``transport``/``clock`` default to aiohttp
    (configured by ``http``) and the system clock.
    """
    from weft.effects.clock import SystemClock

    run_options = RunOptions.build(
        options,
        servers=servers,
        strict=strict,
        max_steps=max_steps,
        timeout=timeout,
        pace=pace,
        retry=retry,
        checks=check_responses,
    )
    run_options = with_credentials(run_options, auth)
    loaded = load_document(document)
    check_run_credentials(loaded, workflow_id, run_options, inputs or {})
    async with transport_scope(transport, http) as sender:
        runner = Runner(
            loaded,
            run_options,
            RunEffects(sender, clock or SystemClock(), recorder),
            run_id=run_id or new_run_id(),
            labels=labels,
            on_event=on_event,
        )
        return await runner.run(workflow_id, inputs or {})


def check_run_credentials(
    loaded: LoadedDocument,
    workflow_id: str | None,
    options: RunOptions,
    inputs: Mapping[str, Any] | None,
) -> None:
    """Refuse a run whose steps need a security scheme it has no credential for (before any
    request). ``inputs`` None: the workflow's ``x-weft-auth`` bindings are taken as met."""
    from weft.engine.auth_check import check_credentials
    from weft.engine.runner import select_plan

    plan = select_plan(loaded, workflow_id, strict=options.strict)
    check_credentials(plan, options.auth, inputs)


def run(
    document: str | os.PathLike[str] | LoadedDocument,
    workflow_id: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    """Synchronous :func:`run_async` (starts an event loop; not for use inside one)."""
    return asyncio.run(run_async(document, workflow_id, inputs, **options))


async def resume_async(
    run_id: str,
    *,
    store: RunStore | str | os.PathLike[str] | None = None,
    inputs: Mapping[str, Any] | None = None,
    resend: bool = False,
    servers: Mapping[str, str] | None = None,
    on_event: EventCallback | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
    document: str | os.PathLike[str] | LoadedDocument | None = None,
    force: bool = False,
    auth: AuthConfig | Mapping[str, Any] | None = None,
    http: HttpOptions | None = None,
) -> RunResult:
    """Continue a recorded run from its last checkpoint, as if it had never stopped.

    ``store`` is an open run store or a path (default: the per-user store). ``inputs``
    re-supplies secret inputs (they are never stored). A request whose outcome is unknown is
    sent again only when that is safe (idempotent method or idempotency key) or ``resend``.
    A run that failed for a reason that may pass (no answer, a 5xx or 429 answer, its
    timeout) is resumable too: it continues at the step that failed; ``force`` does that for
    any failed run (e.g. after a refused token was replaced). Credentials (``auth``, the
    ``WEFT_AUTH_*`` variables) are never recorded: they are given again here.
    """
    from weft.effects.clock import SystemClock
    from weft.store import store_scope

    with store_scope(store) as opened:
        stored = opened.require_run(run_id)
        state = dict(stored.state or {})
        pending = stored.pending
        if (
            pending is not None
            and pending.state
            and (int(pending.state.get("seq", 0)) > int(state.get("seq", 0)))
        ):
            state = dict(pending.state)
        if not state or "frames" not in state:
            raise UsageError(f"run {run_id} has no resumable state", hint="start it again")
        refuse_finished(run_id, stored.status, stored.result, force=force)
        loaded = load_document(document if document is not None else stored.document_uri)
        if stored.document_hash and loaded.document.content_hash != stored.document_hash:
            raise UsageError(
                f"the document {stored.document_uri} changed since run {run_id} started",
                why="resuming against a different document could repeat or skip steps",
                hint="restore the original document, or start a new run",
            )
        options = RunOptions.from_snapshot(state.get("options"))
        options = RunOptions.build(
            options, servers={**options.servers, **(servers or {})}, resend=resend
        )
        options = with_credentials(options, auth)
        frames = state.get("frames")
        top = frames[0].get("workflowId") if isinstance(frames, list) and frames else None
        check_run_credentials(loaded, str(top) if top else None, options, None)
        async with transport_scope(transport, http) as sender:
            runner = Runner(
                loaded,
                options,
                RunEffects(sender, clock or SystemClock(), opened),
                run_id=run_id,
                on_event=on_event,
            )
            return await runner.resume(
                state, dict(inputs or {}), after_failure=stored.status == RunStatus.FAILED
            )


def refuse_finished(
    run_id: str, status: str, result: Mapping[str, Any] | None, *, force: bool = False
) -> None:
    """Raise when a recorded run has nothing left to resume: it succeeded, or it failed for a
    reason that would only happen again (see :func:`weft.engine.resumable.resumable`)."""
    from weft.engine.resumable import resumable

    if status == RunStatus.SUCCEEDED:
        raise UsageError(
            f"run {run_id} already succeeded",
            hint="nothing to resume; `weft runs show` displays its result",
        )
    if status == RunStatus.FAILED and not force and not resumable(result):
        raise UsageError(
            f"run {run_id} already failed",
            why="its failure would happen again (it is not a missing answer, a 5xx/429 answer "
            "or its timeout)",
            hint="nothing to resume; `weft runs show` displays why; start a new run",
        )


def resume(run_id: str, **options: Any) -> RunResult:
    """Synchronous :func:`resume_async`."""
    return asyncio.run(resume_async(run_id, **options))


__all__ = [
    "InvalidDocumentError",
    "check_run_credentials",
    "ensure_runnable",
    "load_document",
    "new_run_id",
    "refuse_finished",
    "resume",
    "resume_async",
    "run",
    "run_async",
    "transport_scope",
    "with_credentials",
]
