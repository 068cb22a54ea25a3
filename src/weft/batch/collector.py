"""The garbage collector while a batch runs.

A busy batch keeps thousands of runs in flight, each a few hundred container objects that live
as long as the run (its frames, coroutines, requests, records). With Python's default settings
every one of them is walked again and again as it ages through the collector's generations; with
thousands in flight, collections of the older generations walk millions of live objects, take
up to seconds each (the event loop stalls meanwhile) and cost 15-30 % of a batch's CPU.

Runs leave no cyclic garbage (measured on succeeding, failing and raising runs: every object
of a run is freed by reference counting), so while a batch runs :func:`batch_collector`

- freezes what is alive when it starts (modules, the loaded document, the compiled plan: they
  outlive the batch), and
- collects only the youngest generation: every :data:`YOUNG_THRESHOLD` net allocations (not
  700), and at least every :data:`YOUNG_INTERVAL` seconds. Python counts *net* allocations, and
  in a big batch finishing runs free about as much as new runs allocate: without the timer the
  young generation piled up for seconds and one collection took up to 0.4 s (measured in a
  40,000-row batch with 15,000 runs in flight). A cycle made and dropped meanwhile (say, a
  connection the server closed) is still collected; what survives one collection is not
  looked at again before the batch ends.

The previous settings come back when the last batch running in the process ends (the older
generations are then collected as usual); a process that froze objects itself keeps them frozen.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

YOUNG_THRESHOLD = 10_000
OLDER_THRESHOLD = 1_000_000  # collections of a younger generation before an older one: never
YOUNG_INTERVAL = 0.2  # seconds: the longest time between two collections of the youngest

_active = 0  # batches running in this process
_saved: tuple[tuple[int, int, int], bool] | None = None  # thresholds, whether we froze
_timer: asyncio.TimerHandle | None = None  # the next check of the young generation
_last_young = 0.0  # when the youngest generation was last collected (monotonic)


def _collected(phase: str, info: dict[str, int]) -> None:
    global _last_young
    if phase == "stop" and info.get("generation") == 0:
        _last_young = time.monotonic()


def _check(loop: asyncio.AbstractEventLoop) -> None:
    global _timer
    if time.monotonic() - _last_young >= YOUNG_INTERVAL:
        gc.collect(0)
    _timer = loop.call_later(YOUNG_INTERVAL, _check, loop)


@asynccontextmanager
async def batch_collector(enabled: bool = True) -> AsyncIterator[None]:
    """Apply the batch settings (see the module docstring) for the ``async with`` block (the
    batches running at once in a process share them; the last to end restores the previous)."""
    global _active, _saved, _timer, _last_young
    if not enabled:
        yield
        return
    if _active == 0:
        old = gc.get_threshold()
        froze = gc.isenabled() and gc.get_freeze_count() == 0
        if froze:
            gc.freeze()
        gc.set_threshold(max(old[0], YOUNG_THRESHOLD), OLDER_THRESHOLD, OLDER_THRESHOLD)
        _saved = (old, froze)
        _last_young = time.monotonic()
        gc.callbacks.append(_collected)
        loop = asyncio.get_running_loop()
        _timer = loop.call_later(YOUNG_INTERVAL, _check, loop)
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if _active == 0:
            if _timer is not None:
                _timer.cancel()
                _timer = None
            if _collected in gc.callbacks:
                gc.callbacks.remove(_collected)
            if _saved is not None:
                old, froze = _saved
                _saved = None
                gc.set_threshold(*old)
                if froze:
                    gc.unfreeze()


__all__ = ["OLDER_THRESHOLD", "YOUNG_INTERVAL", "YOUNG_THRESHOLD", "batch_collector"]
