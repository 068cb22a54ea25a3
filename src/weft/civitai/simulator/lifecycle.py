"""A workflow's timeline: unassigned → preparing → scheduled → processing → terminal.

Status is a pure function of the elapsed time (and a cancel instant), so nothing runs in the
background: every read computes where the workflow is now. A ``wait`` long-poll parks a future
on the workflow (:meth:`SimWorkflow.wait_for_change`): one timer per waiting request, woken at
its deadline, at the terminal instant or at once by a cancel — no task or loop per waiter.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RUNNING = ("unassigned", "preparing", "scheduled", "processing")
TERMINAL = ("succeeded", "failed", "expired", "canceled")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_B32 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD.encode())


def new_ulid(now: float | None = None) -> str:
    """A ULID: 48-bit millisecond time and 80 random bits, Crockford base32 (26 characters)."""
    millis = int((time.time() if now is None else now) * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    # 130 bits (two leading zero bits, 26 quintets) in RFC 4648 base32, mapped to Crockford's
    raw = base64.b32encode((value << 6).to_bytes(17, "big"))[:26]
    return raw.translate(_B32).decode()


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@dataclass
class SimWorkflow:
    id: str
    account: str
    body: dict[str, Any]
    cost: dict[str, Any]
    seed: int
    created_mono: float
    created_wall: float
    durations: tuple[float, float, float, float]
    outcome: str
    external_id: str | None = None  # the client's value; the API shows "{userId}-{value}"
    user_id: int = 0
    preview: bool = False  # a whatif preview: priced, never run, never charged
    transactions: list[dict[str, Any]] = field(default_factory=list)
    insufficient_buzz: bool | None = None  # whatif previews only
    mature: bool = False  # made with mature resources or allowMatureContent
    canceled_at: float | None = None  # monotonic
    blob_ids: list[str] = field(default_factory=list)
    # long-polls parked on this workflow; a cancel wakes them all
    waiters: set[asyncio.Future[None]] = field(default_factory=set)
    _phases: tuple[tuple[str, float], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.preview:  # stays unassigned: nothing will ever run it
            self._phases = (("unassigned", 0.0),)
            return
        out: list[tuple[str, float]] = []
        offset = 0.0
        names = RUNNING[:3] if self.outcome == "expired" else RUNNING
        for name, duration in zip(names, self.durations, strict=False):
            out.append((name, offset))
            offset += duration
        out.append((self.outcome, offset))
        self._phases = tuple(out)

    @property
    def input(self) -> dict[str, Any]:
        return dict(self.body["steps"][0].get("input") or {})

    def phases(self) -> list[tuple[str, float]]:
        """``(status, offset from creation)`` for every status the timeline passes through."""
        return list(self._phases)

    def terminal_offset(self) -> float:
        natural = self._phases[-1][1]
        if self.canceled_at is not None:
            return min(natural, self.canceled_at - self.created_mono)
        return natural

    def status_at(self, now: float) -> tuple[str, float]:
        """The status at monotonic ``now`` and the offset at which it began."""
        elapsed = now - self.created_mono
        if self.canceled_at is not None and now >= self.canceled_at:
            cancel_offset = self.canceled_at - self.created_mono
            if cancel_offset < self._phases[-1][1]:
                return "canceled", cancel_offset
        current = self._phases[0]
        for phase in self._phases:
            if elapsed >= phase[1]:
                current = phase
            else:
                break
        return current

    def cancel(self, now: float) -> None:
        """Cancel at monotonic ``now``; every parked long-poll answers at once."""
        self.canceled_at = now
        for waiter in self.waiters:
            _wake(waiter)

    async def wait_for_change(self, deadline: float) -> None:
        """Park until the workflow is terminal, a cancel, or monotonic ``deadline``."""
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        until = min(deadline, now + self.seconds_to_terminal(now))
        if until <= now:
            return
        waiter: asyncio.Future[None] = loop.create_future()
        # loop.time() is time.monotonic() on every platform asyncio supports
        timer = loop.call_at(loop.time() + (until - now), _wake, waiter)
        self.waiters.add(waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiters.discard(waiter)

    def is_terminal(self, now: float) -> bool:
        return self.status_at(now)[0] in TERMINAL

    def seconds_to_terminal(self, now: float) -> float:
        if self.preview and self.canceled_at is None:
            return float("inf")
        return max(0.0, self.created_mono + self.terminal_offset() - now)

    @property
    def api_external_id(self) -> str | None:
        """``externalId`` as the API stores and shows it: ``"{userId}-{clientValue}"``."""
        return f"{self.user_id}-{self.external_id}" if self.external_id else None


def workflow_json(
    wf: SimWorkflow, now: float, images: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The ``Workflow`` object as GetWorkflow returns it. ``images``: the output's image blobs
    (``steps[0].output.images``) once it succeeded."""
    status, since = wf.status_at(now)
    inp = wf.input
    phases = dict(wf._phases)
    processing_offset = phases.get("processing")
    started = None
    if processing_offset is not None and now - wf.created_mono >= processing_offset:
        started = wf.created_wall + processing_offset
    completed = wf.created_wall + since if status in TERMINAL else None
    queue_position: dict[str, Any] | None = None
    if status in ("unassigned", "preparing", "scheduled"):
        ahead = {"unassigned": 3, "preparing": 2, "scheduled": 1}[status]
        queue_position = {
            "support": "available",
            "precedingJobs": ahead,
            "startAt": iso(wf.created_wall + (processing_offset or 0.0)),
            "completeAt": iso(wf.created_wall + wf.terminal_offset()),
        }
    job: dict[str, Any] = {
        "id": f"{wf.id[3:]}-job0",
        "status": status,
        "startedAt": iso(started),
        "completedAt": iso(completed),
        "cost": float(wf.cost["total"]),
        "estimatedProgressRate": None if status in TERMINAL else 0.0,
    }
    if queue_position is not None:
        job["queuePosition"] = queue_position
    step: dict[str, Any] = {
        "$type": "imageGen",
        "name": wf.body["steps"][0].get("name") or "0",
        "priority": wf.body["steps"][0].get("priority") or "normal",
        "timeout": wf.body["steps"][0].get("timeout") or "00:10:00",
        "retries": wf.body["steps"][0].get("retries") or 0,
        "jobs": [] if wf.preview else [job],
        "status": status,
        "startedAt": iso(started),
        "completedAt": iso(completed),
        "metadata": wf.body["steps"][0].get("metadata") or {},
        "estimatedProgressRate": None if status in TERMINAL else 0.0,
        "input": inp,
    }
    if status == "succeeded" and images is not None:
        step["output"] = {"images": images}
    elif status in ("failed", "expired"):
        reason = (
            "The job failed on the worker."
            if status == "failed"
            else "No worker took the job in time."
        )
        step["output"] = {"images": [], "errors": [reason]}
    body = wf.body
    return {
        "id": wf.id,
        "createdAt": iso(wf.created_wall),
        "transactions": _transactions(wf),
        "metadata": body.get("metadata") or {},
        "status": status,
        "startedAt": iso(started),
        "completedAt": iso(completed),
        "tags": body.get("tags") or [],
        "arguments": body.get("arguments") or {},
        "steps": [step],
        "callbacks": body.get("callbacks") or [],
        "tips": body.get("tips") or {"civitai": 0, "creators": 0},
        "cost": wf.cost,
        "allowMatureContent": body.get("allowMatureContent"),
        "upgradeMode": body.get("upgradeMode") or "manual",
        "currencies": body.get("currencies") or ["yellow"],
        "forceRefunded": False,
        "externalId": wf.api_external_id,
    }


def _transactions(wf: SimWorkflow) -> dict[str, Any]:
    out: dict[str, Any] = {"list": wf.transactions}
    if wf.insufficient_buzz is not None:
        out["insufficientBuzz"] = wf.insufficient_buzz
    return out


def image_size(inp: dict[str, Any]) -> tuple[int, int]:
    side = 512 if inp.get("ecosystem") == "sd1" else 1024
    return int(inp.get("width") or side), int(inp.get("height") or side)
