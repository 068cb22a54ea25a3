"""The shared queue: putting a batch's jobs on it (once) and reading where each row stands.

:func:`enqueue_jobs` adds the jobs not queued yet: a row already queued, running or finished
adds nothing; a row whose last attempt ended in a failure that may pass (no answer, a 5xx or
429 answer, its timeout, a worker error) is queued again as its next attempt, which resumes
the row's run. DBOS refuses a second job with the same id, so two enqueuers racing add each
job once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from weft.scaleout.database import prepare
from weft.scaleout.dbos_access import TERMINAL, enqueue_options, open_client
from weft.scaleout.jobs import Job, JobId, JobOutcome

if TYPE_CHECKING:
    from dbos import DBOSClient

QUEUED, RUNNING = "ENQUEUED", "PENDING"


@dataclass(frozen=True, slots=True)
class Attempt:
    """The latest attempt of one row: its DBOS status, what it returned, who ran it."""

    job: JobId
    status: str
    outcome: JobOutcome | None
    executor: str | None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def worth_another(self) -> bool:
        """Whether queueing the row again may finish it: the job ended in a failure that may
        pass (its outcome says ``retry``), or the job itself failed (a worker error)."""
        if not self.finished:
            return False
        if self.status != "SUCCESS" or self.outcome is None:
            return True
        return self.outcome.retry


def read_attempts(client: DBOSClient, batch: str) -> dict[tuple[int, str], Attempt]:
    """The latest attempt of each (row, digest) queued for ``batch``."""
    latest: dict[tuple[int, str], Attempt] = {}
    for status in client.list_workflows(
        workflow_id_prefix=batch + ".", load_input=False, load_output=True
    ):
        job = JobId.parse(status.workflow_id)
        if job is None or job.batch != batch:
            continue
        key = (job.row, job.digest)
        held = latest.get(key)
        if held is not None and held.job.attempt > job.attempt:
            continue
        error = status.error
        latest[key] = Attempt(
            job=job,
            status=str(status.status),
            outcome=JobOutcome.from_json(status.output),
            executor=status.executor_id,
            error=f"{type(error).__name__}: {error}" if error is not None else None,
        )
    return latest


@dataclass(frozen=True, slots=True)
class EnqueueReport:
    """What :func:`enqueue_jobs` did: rows queued for the first time, rows queued again (their
    last attempt may be finished by another), rows already waiting or running, rows finished."""

    batch: str
    rows: int
    added: int
    again: int
    waiting: int
    finished: int


def _add(client: DBOSClient, job: Job) -> None:
    options: Any = enqueue_options(job.id)
    client.enqueue(options, job.to_json())


def enqueue_jobs(url: str, batch: str, jobs: Sequence[Job]) -> EnqueueReport:
    """Queue ``jobs`` (all of one batch) on the shared queue at ``url`` (see the module
    docstring)."""
    prepare(url)
    client = open_client(url)
    added = again = waiting = finished = 0
    try:
        latest = read_attempts(client, batch)
        for job in jobs:
            held = latest.get((job.row, job.digest))
            if held is None:
                _add(client, job)
                added += 1
            elif held.worth_another:
                _add(client, replace(job, attempt=held.job.attempt + 1))
                again += 1
            elif held.finished:
                finished += 1
            else:
                waiting += 1
    finally:
        client.destroy()
    return EnqueueReport(batch, len(jobs), added, again, waiting, finished)


__all__ = ["QUEUED", "RUNNING", "Attempt", "EnqueueReport", "enqueue_jobs", "read_attempts"]
