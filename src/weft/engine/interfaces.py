"""The effects the engine receives: HTTP, time, and run recording.

The engine never opens sockets, reads clocks or writes files itself; it is handed objects that
satisfy these protocols. Production code uses the aiohttp transport, the system clock and the
SQLite store; tests use fakes or a loopback server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class HttpRequest:
    method: str
    url: str  # fully expanded: server + path + query string
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    follow_redirects: bool = True  # False: a 3xx is the response (the operation declares one)


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # keys lower-cased; repeated headers joined with ", "
    body: bytes
    url: str  # final URL after redirects
    elapsed: float = 0.0  # seconds


class Frozen(dict[str, Any]):
    """A record or state its producer never changes once handed to a recorder — nor anything
    inside it (the engine replaces such parts, it never edits them). A recorder may keep it and
    serialise it later (only if it is still needed) instead of at once."""

    __slots__ = ()


class TransportError(Exception):
    """A request that produced no HTTP response (DNS, connect, timeout, size cap, TLS...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Transport(Protocol):
    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send one request; raise :class:`TransportError` when no response was obtained."""
        ...


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float:
        """Seconds since the epoch (for records)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class RunRecorder(Protocol):
    """Receives a run's events as they happen; the run store implements this.

    ``state`` arguments are JSON-serialisable snapshots (see ``weft.engine.state``) that are
    enough to resume the run from that point. Secrets are already masked in ``inputs`` and in
    request summaries by the engine before they reach the recorder.

    The engine calls ``request_sending`` only for requests that are not resend-safe (a
    non-idempotent method without an idempotency key): for the others, losing track of a
    request in flight only means resume sends it again. Each finished attempt is one
    ``attempt_finished`` call carrying the state *after* the engine decided where control goes
    next. A recorder may also have an optional ``flush()`` method (write what it buffers now);
    the engine calls it, when present, before it sleeps (loop pacing, retry delays). A recorder
    that buffers ``run_started`` may have an optional ``ensure_started(run_id)`` method (make
    that run's start durable now); the engine calls it, when present, before sending a request
    with a non-idempotent method that is resend-safe only through its idempotency key (the key
    may be derived from the run id: such a request must never come from a run resume can't find).
    """

    def run_started(
        self,
        run_id: str,
        *,
        document_uri: str,
        document_hash: str,
        workflow_id: str,
        inputs: Mapping[str, Any],
        state: Mapping[str, Any],
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """A run began. ``labels`` are free-form tags (e.g. ``batch``/``row`` for batches)."""
        ...

    def request_sending(
        self,
        run_id: str,
        *,
        step_key: str,
        attempt: int,
        summary: Mapping[str, Any],
        resend_safe: bool,
        state: Mapping[str, Any],
    ) -> None:
        """Called just before a request goes on the wire (write-ahead)."""
        ...

    def attempt_finished(
        self,
        run_id: str,
        *,
        step_key: str,
        attempt: int,
        record: Mapping[str, Any],
        state: Mapping[str, Any] | None = None,
    ) -> None:
        """A step attempt ended (response status, criteria, used body parts, timing, error).

        ``state``, when given, replaces the run's snapshot together with the record (one
        ``checkpoint`` folded in): a recorder must store both or neither.
        """
        ...

    def checkpoint(self, run_id: str, *, state: Mapping[str, Any]) -> None:
        """The run advanced to a new position; ``state`` replaces the previous snapshot."""
        ...

    def run_finished(
        self,
        run_id: str,
        *,
        status: str,
        outputs: Mapping[str, Any],
        error: Mapping[str, Any] | None,
        result: Mapping[str, Any],
    ) -> None: ...


class NullRecorder:
    """A recorder that records nothing (library use without a store)."""

    def run_started(self, run_id: str, **kwargs: Any) -> None:
        return None

    def request_sending(self, run_id: str, **kwargs: Any) -> None:
        return None

    def attempt_finished(self, run_id: str, **kwargs: Any) -> None:
        return None

    def checkpoint(self, run_id: str, **kwargs: Any) -> None:
        return None

    def run_finished(self, run_id: str, **kwargs: Any) -> None:
        return None

    def flush(self) -> None:
        return None


__all__: Sequence[str] = [
    "Clock",
    "Frozen",
    "HttpRequest",
    "HttpResponse",
    "NullRecorder",
    "RunRecorder",
    "Transport",
    "TransportError",
]
