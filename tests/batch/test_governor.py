from __future__ import annotations

import asyncio
import itertools

from weft.batch.governor import GovernedTransport, HostGovernor
from weft.effects import HttpRequest, HttpResponse
from weft.engine.pacing import MAX_RETRY_AFTER, parse_retry_after


class FakeClock:
    """A clock whose sleeps advance time instantly and are recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
        await asyncio.sleep(0)


class ScriptedTransport:
    def __init__(self, clock: FakeClock, statuses: dict[str, list[int]]) -> None:
        self.clock = clock
        self.statuses = statuses
        self.sent: list[tuple[float, str]] = []

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append((self.clock.now, request.url))
        queue = self.statuses.get(request.url, [])
        status = queue.pop(0) if queue else 200
        headers = {"retry-after": "7"} if status == 429 else {}
        return HttpResponse(status=status, headers=headers, body=b"", url=request.url)


def test_parse_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("5", 0.0) == 5.0
    assert parse_retry_after(" 2.5 ", 0.0) == 2.5
    assert parse_retry_after("-3", 0.0) == 0.0
    assert parse_retry_after("100000", 0.0) == MAX_RETRY_AFTER  # capped
    assert parse_retry_after("soon", 0.0) is None
    assert parse_retry_after(None, 0.0) is None
    # an HTTP date 30 s after "now"
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", 0.0) == 30.0


async def test_retry_after_holds_back_every_run_on_that_host() -> None:
    clock = FakeClock()
    inner = ScriptedTransport(clock, {"http://a.test/x": [429]})
    transport = GovernedTransport(inner, HostGovernor(clock))
    first = await transport.send(HttpRequest("GET", "http://a.test/x"))
    assert first.status == 429
    t0 = clock.now
    # another run's request to the same host waits out the Retry-After ...
    await transport.send(HttpRequest("GET", "http://a.test/other"))
    assert inner.sent[-1][0] >= t0 + 7
    # ... while a different host is not slowed at all
    t1 = clock.now
    await transport.send(HttpRequest("GET", "http://b.test/y"))
    assert inner.sent[-1][0] == t1
    assert transport.governor.holds == 1


async def test_rate_limit_spaces_requests_per_host() -> None:
    clock = FakeClock()
    inner = ScriptedTransport(clock, {})
    transport = GovernedTransport(inner, HostGovernor(clock, rate=4.0))
    await asyncio.gather(*(transport.send(HttpRequest("GET", "http://a.test/")) for _ in range(5)))
    times = sorted(t for t, _ in inner.sent)
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(times)]
    assert gaps == [0.25, 0.25, 0.25, 0.25]


async def test_no_limit_means_no_waiting() -> None:
    clock = FakeClock()
    inner = ScriptedTransport(clock, {})
    transport = GovernedTransport(inner, HostGovernor(clock))
    for _ in range(10):
        await transport.send(HttpRequest("GET", "http://a.test/"))
    assert clock.sleeps == []
