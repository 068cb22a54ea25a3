"""Admission: how fast a batch starts runs, so its event loop never stalls.

A run's first stretch (inputs, its record in the store, building and sending the first request)
is a millisecond or so of Python before it waits on the network. Starting 20,000 runs in one
pass of the event loop would keep the loop busy for tens of seconds: no answer is read, no timer
fires, and every connect timeout of the batch expires at once. :class:`Admission` lets at most
``per_turn`` runs start per turn of the loop; the others wait their turn (runs that finish make
room for new ones through the same gate, so a burst of answers cannot start a burst of runs).
"""

from __future__ import annotations

import asyncio
from collections import deque

DEFAULT_PER_TURN = 16


class Admission:
    """At most ``per_turn`` callers of :meth:`admit` go on per turn of the running loop, in
    the order they came.

    Each turn, one callback releases the next ``per_turn`` waiting callers; a released caller
    runs in the loop's next pass, so no pass runs more than ``per_turn`` of them (an admitted
    run's first stretch included, up to its first wait)."""

    __slots__ = ("_loop", "_scheduled", "_waiting", "per_turn", "turns")

    def __init__(self, per_turn: int = DEFAULT_PER_TURN) -> None:
        if per_turn < 1:
            raise ValueError("per_turn must be at least 1")
        self.per_turn = per_turn
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._scheduled = False  # the releasing callback is scheduled
        self._loop: asyncio.AbstractEventLoop | None = None
        self.turns = 0  # turns that released someone

    async def admit(self) -> None:
        """Return once this caller may start (in a later pass of the loop than the call)."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiting.append(waiter)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._release)
        await waiter  # a caller cancelled while waiting leaves a cancelled future: skipped

    def _release(self) -> None:
        waiting = self._waiting
        released = 0
        while waiting and released < self.per_turn:
            waiter = waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                released += 1
        if released:
            self.turns += 1
        if waiting:
            assert self._loop is not None
            self._loop.call_soon(self._release)  # the next pass of the loop
        else:
            self._scheduled = False


__all__ = ["DEFAULT_PER_TURN", "Admission"]
