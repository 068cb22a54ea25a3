"""``weft worker``: a process that takes rows from the shared queue and runs them.

Start as many as wanted, on any machine that reaches the PostgreSQL database: each takes up to
``concurrency`` rows at once (DBOS hands each row to one worker), runs them with weft's engine
against the shared run store, beats its heartbeat, and recovers the rows of workers that died
(:mod:`weft.scaleout.heartbeats`). All its requests go through one connection pool, paced per
host across every worker (:mod:`weft.scaleout.pacing`).

Stopping: the first Ctrl-C (or SIGTERM) stops taking rows and lets the rows in flight finish
(up to ``grace`` seconds); a second one, or the end of the grace, stops at once, and the rows
still in flight go back to the queue for the other workers (their runs are resumed from the run
store, as after a crash).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from weft.scaleout.execution import JobRunner, WorkerSecrets
from weft.scaleout.heartbeats import DEFAULT_LEASE, Heartbeats, Lease, default_name
from weft.scaleout.jobs import Job, JobOutcome

if TYPE_CHECKING:
    from weft.effects.http_options import HttpOptions

DEFAULT_CONCURRENCY = 8
DEFAULT_GRACE = 30.0
STATUS_EVERY = 10.0  # seconds between two status lines
EXIT_FENCED = 75  # declared dead by the other workers (EX_TEMPFAIL)
EXIT_INTERRUPTED = 130

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How a worker runs: the store (a ``postgresql://`` URL), rows at once, requests per
    second per host across all workers (``None``: no limit), its lease and name (default
    ``<host>-<pid>-<hex>``), the grace a stop gives rows in flight, the transport's options
    and the secrets it fills in."""

    store: str
    concurrency: int = DEFAULT_CONCURRENCY
    rate: float | None = None
    lease: float = DEFAULT_LEASE
    name: str | None = None
    grace: float = DEFAULT_GRACE
    http: HttpOptions | None = None
    secrets: WorkerSecrets = field(default_factory=lambda: WorkerSecrets({}))


@dataclass(slots=True)
class _Counts:
    active: int = 0
    done: int = 0
    failed: int = 0


class _Process:
    """The state of the worker in this process (DBOS calls :func:`run_job` with no context)."""

    runner: JobRunner | None = None
    counts = _Counts()
    registered = False


async def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """The job workflow (registered with DBOS as ``weft.run_job``): run one queued row."""
    runner = _Process.runner
    counts = _Process.counts
    assert runner is not None, "a job reached a process that is not a weft worker"
    try:
        parsed = Job.from_json(job)
    except (ValueError, KeyError, TypeError) as exc:
        from weft.batch.results import RowResult

        row = int(job.get("row") or 0) if isinstance(job, dict) else 0
        failed = RowResult(row, 0, None, "failed", error={"reason": f"unreadable job: {exc}"})
        return JobOutcome(failed).to_json()
    counts.active += 1
    try:
        outcome = await runner.run(parsed)
    finally:
        counts.active -= 1
    counts.done += 1
    if not (outcome.row.ok or outcome.row.partial):
        counts.failed += 1
    return outcome.to_json()


def _register() -> None:
    """Register :func:`run_job` with DBOS (once per process, before DBOS is launched)."""
    if _Process.registered:
        return
    from weft.scaleout.dbos_access import register_job_workflow

    register_job_workflow(run_job)
    _Process.registered = True


async def serve(options: WorkerOptions, say: Say) -> int:
    """Run a worker until it is stopped (see the module docstring); its exit code."""
    from weft.effects.aiohttp_transport import AiohttpTransport
    from weft.effects.clock import SystemClock
    from weft.effects.http_options import HttpOptions
    from weft.scaleout import dbos_access
    from weft.scaleout.database import dbos_url, prepare
    from weft.scaleout.pacing import PacedTransport, SharedPacing
    from weft.store import open_store
    from weft.store.postgres_database import redact

    url = options.store
    prepare(url)
    name = options.name or default_name()
    clock = SystemClock()
    store = open_store(url)
    inner = AiohttpTransport((options.http or HttpOptions()).pooled(options.concurrency * 2))
    if inner.notice:
        say(f"notice: {inner.notice}")
    pacing = SharedPacing(url, clock, rate=options.rate)
    lease = Lease(options.lease)

    def fenced() -> None:
        say(
            f"worker {name}: the other workers declared it dead (no heartbeat within its "
            f"{options.lease:g}s lease); stopping at once: its rows continue on them"
        )
        os._exit(EXIT_FENCED)

    heartbeats = Heartbeats(
        url,
        name,
        lease,
        concurrency=options.concurrency,
        recover=dbos_access.recover,
        say=say,
        on_fenced=fenced,
    )
    try:
        await pacing.start()
        heartbeats.start()
    except BaseException:
        await pacing.close()
        await inner.close()
        store.close()
        raise
    transport = PacedTransport(inner, pacing, lease)
    _Process.runner = JobRunner(store, transport, clock, options.secrets, say)
    _register()
    queue = dbos_access.launch(dbos_url(url), name, options.concurrency)
    heartbeats.recover_from_now_on()
    rate = f"{options.rate:g}/s per host (all workers)" if options.rate else "no rate limit"
    say(
        f"worker {name} ready: {options.concurrency} rows at once, {rate}, lease "
        f"{options.lease:g}s; queue {dbos_access.QUEUE_NAME} on {redact(url)}"
    )
    stop = asyncio.Event()
    forced = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        (forced if stop.is_set() else stop).set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, on_signal)
    status = asyncio.create_task(_status_lines(name, say, stop))
    await stop.wait()
    queue.stop_taking()
    counts = _Process.counts
    say(f"worker {name}: stopping; {counts.active} rows in flight (Ctrl-C again: stop now)")
    await _drain(options.grace, forced)
    status.cancel()
    if counts.active:
        lease.revoke()  # nothing more is sent from here
        heartbeats.stop(expire=True)
        say(f"worker {name}: stopped with {counts.active} rows in flight; they are back on the "
            "queue for the other workers")  # fmt: skip
        os._exit(EXIT_INTERRUPTED)
    heartbeats.stop()
    await asyncio.to_thread(dbos_access.shutdown)
    await pacing.close()
    await inner.close()
    store.close()
    say(f"worker {name} stopped: {counts.done} rows done ({counts.failed} failed)")
    return 0


async def _drain(grace: float, forced: asyncio.Event) -> None:
    """Wait for the rows in flight, up to ``grace`` seconds or a second signal (a row just
    taken reaches :func:`run_job` within a poll of the queue)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    await asyncio.sleep(min(1.0, grace))
    while _Process.counts.active and loop.time() < deadline and not forced.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(forced.wait(), 0.1)


async def _status_lines(name: str, say: Say, stop: asyncio.Event) -> None:
    counts = _Process.counts
    last = (-1, -1)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STATUS_EVERY)
        now = (counts.done, counts.active)
        if now != last and not stop.is_set():
            say(f"worker {name}: {counts.done} rows done ({counts.failed} failed), "
                f"{counts.active} running")  # fmt: skip
            last = now


__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_GRACE", "WorkerOptions", "run_job", "serve"]
