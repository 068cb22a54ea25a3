"""Heartbeats, leases and the recovery of a dead worker's rows.

Every worker holds a *lease* of ``lease`` seconds (``weft worker --lease``, default 10): a
thread of its own writes its heartbeat (``weft_scaleout.workers.beat_at``, the database's
clock) every second. Each beat also looks for workers whose last beat is older than *their*
lease: one live worker claims such a worker (an ``UPDATE`` only one can win), hands its
unfinished rows back to the queue through DBOS's recovery (the rows are started again, by any
worker, from what the run store recorded) and marks it ``dead``. A dead worker's rows are thus
back on the queue within its lease plus one second, and started within the queue's poll
interval (0.5 s) when a worker has room.

Fencing: a worker sends requests only while its own lease is fresh — half the lease since its
last successful beat (its clock), well inside the lease the others judge it by (theirs is the
database's clock, from the beat's commit). A worker that cannot beat (the database is out of
reach, the process was paused) stops sending until it can; one that finds itself declared dead
stops at once, so a row never runs on two workers at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from weft.scaleout.database import SCHEMA, connect, unreachable
from weft.scaleout.errors import QueueError

if TYPE_CHECKING:
    import psycopg

BEAT_SECONDS = 1.0
DEFAULT_LEASE = 10.0


class Lease:
    """Whether this worker may send: fresh for half the lease after each beat."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._fresh_until = 0.0  # monotonic
        self.revoked = False

    def renewed(self, sent_at: float) -> None:
        if not self.revoked:
            self._fresh_until = sent_at + self.seconds / 2

    def revoke(self) -> None:
        self.revoked = True
        self._fresh_until = 0.0

    def valid(self) -> bool:
        return time.monotonic() < self._fresh_until

    async def wait_valid(self) -> None:
        while not self.valid():
            await asyncio.sleep(0.05)


def default_name() -> str:
    """A worker's executor id: ``<host>-<pid>-<4 hex>`` (unique over time on a machine)."""
    return f"{socket.gethostname()}-{os.getpid()}-{os.urandom(2).hex()}"


_REGISTER = f"""
INSERT INTO {SCHEMA}.workers AS w (executor_id, host, pid, concurrency, lease_seconds)
VALUES (%(id)s, %(host)s, %(pid)s, %(concurrency)s, %(lease)s)
ON CONFLICT (executor_id) DO UPDATE
SET host = EXCLUDED.host, pid = EXCLUDED.pid, concurrency = EXCLUDED.concurrency,
    lease_seconds = EXCLUDED.lease_seconds, started_at = clock_timestamp(),
    beat_at = clock_timestamp(), state = 'alive', recovered_by = NULL, recovered_at = NULL,
    recovered_runs = NULL
WHERE w.state <> 'alive' OR w.beat_at < clock_timestamp() - make_interval(secs => w.lease_seconds)
RETURNING 1
"""

_BEAT = f"""
UPDATE {SCHEMA}.workers SET beat_at = clock_timestamp()
WHERE executor_id = %(id)s AND state = 'alive' RETURNING 1
"""

_CLAIM = f"""
WITH claimed AS (
    SELECT executor_id, state AS was FROM {SCHEMA}.workers
    WHERE executor_id <> %(id)s AND (
        state = 'abandoned'
        OR (state = 'alive'
            AND beat_at < clock_timestamp() - make_interval(secs => lease_seconds))
        OR (state = 'recovering'
            AND recovered_at < clock_timestamp() - make_interval(secs => lease_seconds)))
    FOR UPDATE SKIP LOCKED
)
UPDATE {SCHEMA}.workers AS w
SET state = 'recovering', recovered_by = %(id)s, recovered_at = clock_timestamp()
FROM claimed WHERE w.executor_id = claimed.executor_id
RETURNING w.executor_id, claimed.was, EXTRACT(EPOCH FROM clock_timestamp() - w.beat_at)::float8
"""

_RECOVERED = f"""
UPDATE {SCHEMA}.workers SET state = 'dead', recovered_runs = %(runs)s
WHERE executor_id = %(dead)s AND recovered_by = %(id)s
"""

_END = f"""
UPDATE {SCHEMA}.workers SET state = %(state)s WHERE executor_id = %(id)s AND state = 'alive'
"""

_ALIVE = f"""
SELECT count(*) FROM {SCHEMA}.workers
WHERE state = 'alive' AND beat_at >= clock_timestamp() - make_interval(secs => lease_seconds)
"""

Recover = Callable[[list[str]], int]
Say = Callable[[str], None]


class Heartbeats:
    """This worker's heartbeat thread (see the module docstring)."""

    def __init__(
        self,
        url: str,
        executor_id: str,
        lease: Lease,
        *,
        concurrency: int,
        recover: Recover,
        say: Say,
        on_fenced: Callable[[], None],
    ) -> None:
        self.url = url
        self.executor_id = executor_id
        self.lease = lease
        self.concurrency = concurrency
        self._recover = recover
        self._say = say
        self._on_fenced = on_fenced
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self._can_recover = False
        self.recovered = 0  # rows this worker handed back to the queue

    def _params(self, **more: Any) -> dict[str, Any]:
        return {"id": self.executor_id, **more}

    def start(self) -> None:
        """Register (refused while a live worker has the same name) and hold the lease."""
        self._conn = connect(self.url)
        sent = time.monotonic()
        row = self._conn.execute(
            _REGISTER,
            self._params(
                host=socket.gethostname(),
                pid=os.getpid(),
                concurrency=self.concurrency,
                lease=self.lease.seconds,
            ),
        ).fetchone()
        if row is None:
            self._conn.close()
            raise QueueError(
                f"a worker named {self.executor_id!r} is alive",
                why="two workers with one name would each run the other's rows",
                hint="give this worker another --name (or leave --name out)",
            )
        self.lease.renewed(sent)
        self._thread = threading.Thread(target=self._run, name="weft-heartbeat", daemon=True)
        self._thread.start()

    def recover_from_now_on(self) -> None:
        """Start recovering dead workers' rows (once DBOS is launched in this process)."""
        self._can_recover = True

    def _run(self) -> None:
        said = ""
        while not self._stop.wait(BEAT_SECONDS):
            try:
                self._beat()
                if self._can_recover and not self._stop.is_set():
                    self._reap()
                said = ""
            except Exception as exc:  # e.g. a dropped connection: try again at the next beat
                self._reconnect()
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                if text != said:  # once per distinct failure, not every second
                    said = text
                    self._say(f"worker {self.executor_id}: heartbeat failed: {text}")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.url)
        return self._conn

    def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            if self._conn is not None:
                self._conn.close()
        self._conn = None

    def _beat(self) -> None:
        sent = time.monotonic()
        row = self._connection().execute(_BEAT, self._params()).fetchone()
        if row is None and not self._stop.is_set():
            self.lease.revoke()
            self._on_fenced()
            return
        self.lease.renewed(sent)

    def _reap(self) -> None:
        conn = self._connection()
        for dead, was, silent in conn.execute(_CLAIM, self._params()).fetchall():
            runs = self._recover([str(dead)])
            conn.execute(_RECOVERED, self._params(runs=runs, dead=dead))
            self.recovered += runs
            why = (
                "stopped with rows in flight"
                if was == "abandoned"
                else f"is dead (no heartbeat for {float(silent):.1f}s)"
            )
            self._say(f"worker {dead} {why}: {runs} of its rows are back on the queue")

    def stop(self, *, expire: bool = False) -> None:
        """Stop beating: ``stopped``; or with ``expire`` (rows are still unfinished here)
        ``abandoned``, which the next beat of any live worker recovers, lease or not."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            conn = self._connection()
            conn.execute(_END, self._params(state="abandoned" if expire else "stopped"))
        except Exception:
            pass  # the lease runs out by itself
        self._reconnect()


def alive_workers(url: str) -> int:
    """How many workers hold a fresh lease."""
    try:
        with connect(url) as conn:
            row = conn.execute(_ALIVE).fetchone()
    except QueueError:
        raise
    except Exception as exc:
        raise unreachable(url, exc) from exc
    return int(row[0]) if row is not None else 0


__all__ = ["BEAT_SECONDS", "DEFAULT_LEASE", "Heartbeats", "Lease", "alive_workers", "default_name"]
