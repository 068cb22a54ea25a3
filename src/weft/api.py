"""The library entry points: ``weft.run``, ``weft.run_async`` and ``weft.resume_async``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from weft.effects import Clock, RunRecorder, Transport
from weft.engine.pacing import Pace, parse_pace
from weft.engine.result import RunResult
from weft.engine.runner import EventCallback, Runner
from weft.errors import UsageError

if TYPE_CHECKING:
    from weft.document import LoadedDocument


@asynccontextmanager
async def _transport(transport: Transport | None) -> AsyncIterator[Transport]:
    """The caller's transport as it is, or a pooled aiohttp one closed afterwards."""
    if transport is not None:
        yield transport
        return
    from weft.effects.aiohttp_transport import AiohttpTransport

    own = AiohttpTransport()
    try:
        yield own
    finally:
        await own.close()


def _load(document: Any) -> LoadedDocument:
    from weft.document import LoadedDocument, load

    if isinstance(document, LoadedDocument):
        return document
    return load(str(document))


async def run_async(
    document: Any,
    workflow_id: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    *,
    servers: Mapping[str, str] | None = None,
    strict: bool = False,
    max_steps: int = 1000,
    timeout: float | None = None,
    pace: Pace | str | float | list[float] | None = None,
    on_event: EventCallback | None = None,
    recorder: RunRecorder | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
    run_id: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> RunResult:
    """Run a workflow of an Arazzo document (path, URL or a loaded document).

    ``servers`` overrides a source's server URL by source name. ``pace`` sets loop pacing
    (``"off"``, a number, a list of delays). ``recorder`` receives the durable record (e.g. a
    ``weft.store`` store); ``transport``/``clock`` default to aiohttp and the system clock.
    """
    from weft.effects.clock import SystemClock

    loaded = _load(document)
    async with _transport(transport) as sender:
        runner = Runner(
            loaded,
            transport=sender,
            clock=clock or SystemClock(),
            recorder=recorder,
            servers=servers,
            strict=strict,
            max_steps=max_steps,
            timeout=timeout,
            pace=parse_pace(pace),
            on_event=on_event,
            run_id=run_id or _new_run_id(),
            labels=labels,
        )
        return await runner.run(workflow_id, inputs or {})


def run(
    document: Any,
    workflow_id: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    """Synchronous :func:`run_async` (starts an event loop; not for use inside one)."""
    return asyncio.run(run_async(document, workflow_id, inputs, **options))


async def resume_async(
    run_id: str,
    *,
    store: Any = None,
    inputs: Mapping[str, Any] | None = None,
    resend: bool = False,
    servers: Mapping[str, str] | None = None,
    on_event: EventCallback | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
    document: Any = None,
) -> RunResult:
    """Continue a recorded run from its last checkpoint, as if it had never stopped.

    ``store`` is an open run store or a path (default: the per-user store). ``inputs``
    re-supplies secret inputs (they are never stored). A request whose outcome is unknown is
    sent again only when that is safe (idempotent method or idempotency key) or ``resend``.
    """
    from weft.effects.clock import SystemClock
    from weft.store import open_store

    own_store = None
    if store is None or isinstance(store, str) or hasattr(store, "__fspath__"):
        own_store = open_store(store)
        store = own_store
    try:
        stored = store.require_run(run_id)
        state = dict(stored.state or {})
        pending = getattr(stored, "pending", None)
        if (
            pending is not None
            and pending.state
            and (int(pending.state.get("seq", 0)) > int(state.get("seq", 0)))
        ):
            state = dict(pending.state)
        if not state or "frames" not in state:
            raise UsageError(f"run {run_id} has no resumable state", hint="start it again")
        if stored.status in ("succeeded", "failed"):
            raise UsageError(
                f"run {run_id} already {stored.status}",
                hint="nothing to resume; `weft runs show` displays its result",
            )
        loaded = _load(document if document is not None else stored.document_uri)
        if stored.document_hash and loaded.document.content_hash != stored.document_hash:
            raise UsageError(
                f"the document {stored.document_uri} changed since run {run_id} started",
                why="resuming against a different document could repeat or skip steps",
                hint="restore the original document, or start a new run",
            )
        options = state.get("options", {})
        async with _transport(transport) as sender:
            runner = Runner(
                loaded,
                transport=sender,
                clock=clock or SystemClock(),
                recorder=store,
                servers={**options.get("servers", {}), **(servers or {})},
                strict=bool(options.get("strict", False)),
                max_steps=int(options.get("maxSteps", 1000)),
                timeout=options.get("timeout"),
                pace=parse_pace(options.get("pace")),
                on_event=on_event,
                run_id=run_id,
                resend=resend,
            )
            return await runner.resume(state, dict(inputs or {}))
    finally:
        if own_store is not None:
            own_store.close()


def resume(run_id: str, **options: Any) -> RunResult:
    """Synchronous :func:`resume_async`."""
    return asyncio.run(resume_async(run_id, **options))


def _new_run_id() -> str:
    try:
        from weft.store.ids import new_run_id
    except ImportError:  # pragma: no cover - the store is part of every build
        import uuid

        return uuid.uuid4().hex
    return new_run_id()


__all__ = ["resume", "resume_async", "run", "run_async"]
