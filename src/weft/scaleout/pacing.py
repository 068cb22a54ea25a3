"""Per-host request pacing shared by every worker, through PostgreSQL.

``weft batch`` paces one process (:class:`weft.batch.governor.HostGovernor`); workers on many
machines share one budget here, in the ``weft_scaleout.host_pacing`` table:

- ``--rate R`` (requests per second per host, across all workers): before each request a
  worker reserves the host's next free slot in one statement (the row is locked for that
  statement only) and sleeps until it. Slots are ``1/R`` apart on the database's clock, so
  machines whose clocks differ still share one spacing. One database round trip per request;
  none without ``--rate``.
- ``Retry-After`` (on a 429 or 503 answer): the worker that saw it holds the host back at once,
  records the time in the table (a reserved slot never falls before it) and announces it with
  ``NOTIFY``; every worker listens and holds the host back too, within the notification's
  latency (milliseconds). A worker that starts later reads the holds still in force.

If the database cannot be reached, a worker paces by itself (the same spacing, for its own
requests) until it can again.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from weft.batch.governor import HostGovernor
from weft.effects import Clock, HttpRequest, HttpResponse, Transport
from weft.engine.pacing import parse_retry_after
from weft.scaleout.database import SCHEMA, connect_async

if TYPE_CHECKING:
    import psycopg

    from weft.scaleout.heartbeats import Lease

CHANNEL = "weft_pacing"

_RESERVE = f"""
INSERT INTO {SCHEMA}.host_pacing AS p (host, next_slot)
VALUES (%(host)s, clock_timestamp() + make_interval(secs => %(interval)s))
ON CONFLICT (host) DO UPDATE
SET next_slot = GREATEST(p.next_slot, p.not_before, clock_timestamp())
    + make_interval(secs => %(interval)s)
RETURNING EXTRACT(EPOCH FROM p.next_slot - clock_timestamp())::float8 - %(interval)s
"""

_HOLD = f"""
WITH held AS (
    INSERT INTO {SCHEMA}.host_pacing AS p (host, not_before, holds)
    VALUES (%(host)s, clock_timestamp() + make_interval(secs => %(delay)s), 1)
    ON CONFLICT (host) DO UPDATE
    SET not_before = GREATEST(p.not_before, EXCLUDED.not_before), holds = p.holds + 1
    RETURNING host, EXTRACT(EPOCH FROM p.not_before - clock_timestamp())::float8 AS remaining
)
SELECT pg_notify('{CHANNEL}', held.host || ' ' || held.remaining::text) FROM held
"""

_HELD = f"""
SELECT host, EXTRACT(EPOCH FROM not_before - clock_timestamp())::float8
FROM {SCHEMA}.host_pacing WHERE not_before > clock_timestamp()
"""


class SharedPacing:
    """Rate and ``Retry-After`` holds per host, shared through ``url``'s database (see the
    module docstring). :meth:`start` inside the event loop; :meth:`close` at the end."""

    def __init__(self, url: str, clock: Clock, *, rate: float | None = None) -> None:
        self._url = url
        self._clock = clock
        self._interval = 1.0 / rate if rate else 0.0
        self._not_before: dict[str, float] = {}  # host -> monotonic time
        self._next_local: dict[str, float] = {}  # the fallback spacing, per host
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._listening: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.holds = 0  # Retry-After holds this worker saw
        self.offline = 0  # requests paced locally because the database could not be reached

    async def start(self) -> None:
        self._conn = await connect_async(self._url)
        self._listener = await connect_async(self._url)
        await self._listener.execute(f"LISTEN {CHANNEL}")
        cursor = await self._conn.execute(_HELD)
        for host, remaining in await cursor.fetchall():
            self._hold_here(str(host), float(remaining))
        self._listening = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        assert self._listener is not None
        with contextlib.suppress(Exception):
            async for note in self._listener.notifies():
                host, _, remaining = note.payload.rpartition(" ")
                with contextlib.suppress(ValueError):
                    self._hold_here(host, float(remaining))

    def _hold_here(self, host: str, seconds: float) -> None:
        until = self._clock.monotonic() + seconds
        if until > self._not_before.get(host, 0.0):
            self._not_before[host] = until

    def held(self, url: str) -> float:
        """Seconds ``url``'s host is still held back by a ``Retry-After`` (0: none)."""
        left = self._not_before.get(HostGovernor.host_of(url), 0.0) - self._clock.monotonic()
        return max(left, 0.0)

    async def acquire(self, url: str) -> None:
        """Wait until a request to ``url``'s host may start."""
        host = HostGovernor.host_of(url)
        while (wait := self._not_before.get(host, 0.0) - self._clock.monotonic()) > 0:
            await self._clock.sleep(wait)
        if not self._interval:
            return
        wait = await self._reserve(host)
        if wait > 0:
            await self._clock.sleep(wait)

    async def _reserve(self, host: str) -> float:
        try:
            async with self._lock:
                assert self._conn is not None
                cursor = await self._conn.execute(
                    _RESERVE, {"host": host, "interval": self._interval}
                )
                row = await cursor.fetchone()
            return float(row[0]) if row is not None else 0.0
        except Exception:
            await self._reconnect()
            self.offline += 1
            now = self._clock.monotonic()
            start = max(now, self._next_local.get(host, 0.0))
            self._next_local[host] = start + self._interval
            return start - now

    async def observe(self, url: str, response: HttpResponse) -> None:
        """Learn from an answer: a ``Retry-After`` on 429/503 holds the host back everywhere."""
        if response.status not in (429, 503):
            return
        delay = parse_retry_after(response.headers.get("retry-after"), self._clock.time())
        if delay is None:
            return
        host = HostGovernor.host_of(url)
        self._hold_here(host, delay)
        self.holds += 1
        try:
            async with self._lock:
                assert self._conn is not None
                await self._conn.execute(_HOLD, {"host": host, "delay": delay})
        except Exception:
            await self._reconnect()

    async def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            if self._conn is not None:
                await self._conn.close()
            self._conn = await connect_async(self._url)

    async def close(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(BaseException):
                await self._listening
        for conn in (self._conn, self._listener):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
        self._conn = self._listener = None


class PacedTransport:
    """A :class:`Transport` that sends only while this worker holds its lease (a worker the
    others may have declared dead waits instead), and paces through :class:`SharedPacing`."""

    def __init__(self, inner: Transport, pacing: SharedPacing, lease: Lease) -> None:
        self.inner = inner
        self.pacing = pacing
        self.lease = lease

    async def send(self, request: HttpRequest) -> HttpResponse:
        await self.lease.wait_valid()
        await self.pacing.acquire(request.url)
        await self.lease.wait_valid()
        response = await self.inner.send(request)
        await self.pacing.observe(request.url, response)
        return response


__all__ = ["CHANNEL", "PacedTransport", "SharedPacing"]
