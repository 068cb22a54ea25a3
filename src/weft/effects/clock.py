"""Time as the engine sees it: the :class:`Clock` protocol, the system clock for real runs and a
manual clock for tests and benchmarks."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float:
        """Seconds since the epoch (for records)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Monotonic time, wall time and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)


class ManualClock:
    """A clock that never waits: ``sleep`` advances time and records the requested delay.

    ``sleeps`` lists every delay the engine asked for, in order, so tests can assert pacing
    without timing anything.
    """

    def __init__(self, start: float = 1_000.0, wall: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall - start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds > 0:
            self._now += seconds
        await asyncio.sleep(0)


__all__ = ["Clock", "ManualClock", "SystemClock"]
