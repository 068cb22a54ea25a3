"""Every contact weft has with DBOS Transact (PyPI ``dbos``, MIT), in one place.

DBOS owns the queue (``weft-runs``: one workflow per batch row), which worker runs which row,
each worker's concurrency, and handing a dead worker's rows back to the queue. weft keeps its
engine, its run store and its decisions of what may be sent again.

Public DBOS API used: ``DBOS(config=…)``, ``DBOS.launch``, ``DBOS.destroy``, ``DBOS.migrate``,
``DBOS.workflow``, ``DBOSClient`` (``enqueue``, ``list_workflows``). Three private surfaces
are used, checked against the pinned version (:data:`TESTED_DBOS`; ``tests/scaleout`` covers
each) and refused with one clear error when a different DBOS lacks them:

- ``DBOS._recover_pending_workflows(executor_ids)``: recovery of *another* executor's runs (the
  library recovers only its own on restart; DBOS's admin endpoint takes the same list);
- ``DBOSRegistry._register_internal_queue``: an in-process queue definition, so that each
  worker has its own ``--concurrency`` (a queue registered with ``DBOS.register_queue`` keeps
  one ``worker_concurrency`` in the database, the same for every worker);
- ``Queue._worker_concurrency``: set to 0 to stop taking rows while a worker drains.

Workflow arguments and results are stored as portable JSON (never pickles): what a job holds
is readable in the tables, and holds no secret (see :mod:`weft.scaleout.jobs`).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from weft.scaleout.errors import QueueError, scale_package
from weft.store.postgres_database import redact

if TYPE_CHECKING:
    from dbos import DBOSClient

TESTED_DBOS = "3.4.0"
APP_NAME = "weft"
# the version of the job format: workers recover and take only rows queued in a format they
# read (DBOS matches it against each workflow's application version)
APP_VERSION = "weft-jobs-1"
QUEUE_NAME = "weft-runs"
JOB_WORKFLOW = "weft.run_job"
POLL_SECONDS = 0.1  # how often a worker with room looks for rows on the queue

TERMINAL = frozenset({"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})


def _dbos() -> Any:
    return scale_package("dbos", "DBOS Transact (the dbos package)")


def dbos_version() -> str:
    try:
        return importlib.metadata.version("dbos")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _private(owner: Any, name: str) -> Any:
    found = getattr(owner, name, None)
    if found is None:
        raise QueueError(
            f"this DBOS ({dbos_version()}) lacks {name}, which weft's workers use",
            why=f"weft is tested with dbos {TESTED_DBOS}",
            hint=f"pip install 'dbos=={TESTED_DBOS}' (or: pip install 'weft[scale]')",
        )
    return found


def _failed(url: str, what: str, exc: BaseException) -> QueueError:
    text = str(exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    return QueueError(
        f"DBOS could not {what}",
        where=redact(url),
        why=f"{type(exc).__name__}: {detail}",
        hint="check the PostgreSQL server and the URL; the queue's tables are in schema dbos",
    )


def migrate_system_tables(url: str) -> None:
    """Create or migrate DBOS's tables (schema ``dbos``) in ``url``'s database."""
    dbos = _dbos()
    try:
        dbos.DBOS.migrate(url)
    except Exception as exc:
        raise _failed(url, "create its tables", exc) from exc


def open_client(url: str) -> DBOSClient:
    """A DBOS client of the queue (no process-global state; ``destroy()`` it after use)."""
    dbos = _dbos()
    try:
        client: DBOSClient = dbos.DBOSClient(system_database_url=url, application_name=APP_NAME)
    except Exception as exc:
        raise _failed(url, "connect to the queue", exc) from exc
    return client


def enqueue_options(job_id: str) -> dict[str, Any]:
    """The ``DBOSClient.enqueue`` options of one job: its id (a second enqueue of the same id
    adds nothing), the queue, the job workflow, portable JSON."""
    dbos = _dbos()
    return {
        "queue_name": QUEUE_NAME,
        "workflow_name": JOB_WORKFLOW,
        "workflow_id": job_id,
        "app_version": APP_VERSION,
        "application_name": APP_NAME,
        "serialization_type": dbos.WorkflowSerializationFormat.PORTABLE,
    }


JobFunction = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def register_job_workflow(function: JobFunction) -> JobFunction:
    """``function`` registered as the job workflow (before :func:`launch`)."""
    dbos = _dbos()
    decorate = dbos.DBOS.workflow(
        name=JOB_WORKFLOW, serialization_type=dbos.WorkflowSerializationFormat.PORTABLE
    )
    registered: JobFunction = decorate(function)
    return registered


class LocalQueue:
    """This worker's view of the queue: how many rows it takes at once."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def stop_taking(self) -> None:
        """Take no more rows (rows already taken run to their end)."""
        self._queue._worker_concurrency = 0


def launch(url: str, executor_id: str, concurrency: int) -> LocalQueue:
    """Configure DBOS for this process (executor ``executor_id``), declare the queue with this
    worker's ``concurrency`` and start taking rows. Call it inside the running event loop:
    DBOS then runs the job workflows on that loop."""
    dbos = _dbos()
    from dbos._dbos import _get_or_create_dbos_registry

    config: dict[str, Any] = {
        "name": APP_NAME,
        "system_database_url": url,
        "executor_id": executor_id,
        "application_version": APP_VERSION,
        "log_level": "ERROR",
        "run_migrations": False,  # done by weft.scaleout.database.prepare, under its lock
    }
    register = _private(_get_or_create_dbos_registry(), "_register_internal_queue")
    _private(dbos.DBOS, "_recover_pending_workflows")
    try:
        dbos.DBOS(config=config)
        queue = register(
            QUEUE_NAME, worker_concurrency=concurrency, polling_interval_sec=POLL_SECONDS
        )
        _private(queue, "_worker_concurrency")
        dbos.DBOS.listen_queues([QUEUE_NAME])
        dbos.DBOS.launch()
    except QueueError:
        raise
    except Exception as exc:
        raise _failed(url, "start this worker", exc) from exc
    return LocalQueue(queue)


def recover(executor_ids: list[str]) -> int:
    """Hand the unfinished rows of these (dead) executors back to the queue; how many."""
    dbos = _dbos()
    handles = _private(dbos.DBOS, "_recover_pending_workflows")(executor_ids)
    return len(handles)


def shutdown() -> None:
    """Stop DBOS in this process (its threads and connections)."""
    _dbos().DBOS.destroy()


__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "JOB_WORKFLOW",
    "QUEUE_NAME",
    "TERMINAL",
    "TESTED_DBOS",
    "LocalQueue",
    "dbos_version",
    "enqueue_options",
    "launch",
    "migrate_system_tables",
    "open_client",
    "recover",
    "register_job_workflow",
    "shutdown",
]
