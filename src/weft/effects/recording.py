"""Run recording: what the engine tells a run store as a run goes (:class:`RunRecorder`).

The engine never writes files itself; it is handed a recorder (the run store, or
:class:`NullRecorder`). Records and states are :class:`Frozen`: never changed once handed over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Frozen(dict[str, Any]):
    """A record or state its producer never changes once handed to a recorder — nor anything
    inside it (the engine replaces such parts, it never edits them). A recorder may keep it and
    serialise it later (only if it is still needed) instead of at once."""

    __slots__ = ()


class RunRecorder(Protocol):
    """Receives a run's events as they happen; the run store implements this.

    ``state`` arguments are JSON-serialisable snapshots (see ``weft.engine.state``) that are
    enough to resume the run from that point. Secrets are already masked in ``inputs`` and in
    request summaries by the engine before they reach the recorder.

    The engine calls ``request_sending`` only for requests that are not resend-safe (a
    non-idempotent method without an idempotency key): for the others, losing track of a
    request in flight only means resume sends it again. Each finished attempt is one
    ``attempt_finished`` call carrying the state *after* the engine decided where control goes
    next. ``flush`` and ``ensure_started`` are the two buffering hooks (no-ops for a recorder
    that writes everything at once).
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

    def flush(self) -> None:
        """Write what is buffered now. The engine calls it before it sleeps (loop pacing, retry
        delays) and a batch before it reports a finished row."""
        ...

    def ensure_started(self, run_id: str) -> None:
        """Make the run's start durable now. The engine calls it before sending a request with a
        non-idempotent method that is resend-safe only through its idempotency key (the key may
        be derived from the run id: such a request must never come from a run resume can't
        find)."""
        ...


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

    def ensure_started(self, run_id: str) -> None:
        return None


__all__ = ["Frozen", "NullRecorder", "RunRecorder"]
