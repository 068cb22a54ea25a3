"""Per-host request pacing shared by every run of a batch.

One :class:`HostGovernor` is shared by all runs in a process. It enforces an optional request
rate per host (a token bucket) and, when any response carries ``Retry-After`` (on 429 or 503),
holds back *every* request to that host until the time has passed: one 429 slows the whole
batch on that host, not just the run that received it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from weft.effects import Clock, HttpRequest, HttpResponse, Transport
from weft.engine.pacing import parse_retry_after


@dataclass(slots=True)
class _HostState:
    not_before: float = 0.0  # monotonic time before which no request may start
    next_slot: float = 0.0  # token bucket: monotonic time of the next free slot
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostGovernor:
    """Rate limit and shared Retry-After hold-off, per host (``scheme://host:port``)."""

    def __init__(self, clock: Clock, *, rate: float | None = None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self._clock = clock
        self._interval = 1.0 / rate if rate else 0.0
        self._hosts: dict[str, _HostState] = {}
        self.holds = 0  # how many Retry-After hold-offs were applied

    @staticmethod
    def host_of(url: str) -> str:
        """``scheme://netloc`` of an absolute URL (what ``urlsplit`` gives, without its cost
        for every request: the engine's URLs are built absolute)."""
        scheme_end = url.find("://")
        if scheme_end <= 0:
            parts = urlsplit(url)
            return f"{parts.scheme}://{parts.netloc}"
        start = scheme_end + 3
        end = len(url)
        for sep in "/?#":
            at = url.find(sep, start, end)
            if at >= 0:
                end = at
        return url[:scheme_end].lower() + url[scheme_end:end]

    def _state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState()
        return state

    async def acquire(self, url: str) -> None:
        """Wait until a request to ``url``'s host may start."""
        state = self._state(self.host_of(url))
        if not self._interval and state.not_before <= self._clock.monotonic():
            return  # fast path: no limit configured and no hold-off in force
        async with state.lock:
            while True:
                now = self._clock.monotonic()
                start = max(now, state.not_before, state.next_slot)
                if start <= now:
                    state.next_slot = now + self._interval
                    return
                await self._clock.sleep(start - now)

    def observe(self, url: str, response: HttpResponse) -> None:
        """Learn from a response: a ``Retry-After`` on 429/503 holds the whole host back."""
        if response.status not in (429, 503):
            return
        delay = parse_retry_after(response.headers.get("retry-after"), self._clock.time())
        if delay is None:
            return
        state = self._state(self.host_of(url))
        until = self._clock.monotonic() + delay
        if until > state.not_before:
            state.not_before = until
            self.holds += 1


class GovernedTransport:
    """A :class:`Transport` that asks a :class:`HostGovernor` before every request."""

    def __init__(self, inner: Transport, governor: HostGovernor) -> None:
        self.inner = inner
        self.governor = governor

    async def send(self, request: HttpRequest) -> HttpResponse:
        await self.governor.acquire(request.url)
        response = await self.inner.send(request)
        self.governor.observe(request.url, response)
        return response
