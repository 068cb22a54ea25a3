"""The garbage collector's settings while a batch runs.

A busy batch keeps thousands of runs in flight, each a few hundred container objects that live
as long as the run (its frames, coroutines, requests, records). With Python's default settings
every one of them is walked again and again as it ages through the collector's generations; with
thousands in flight, collections of the older generations walk millions of live objects, take
up to seconds each (the event loop stalls meanwhile) and cost 15-30 % of a batch's CPU. Runs
leave next to no cyclic garbage (about 0.1 object per run, measured on the Civitai batch; all
else is freed by reference counting), so while a batch runs :func:`batch_collector`

- freezes what is alive when it starts (modules, the loaded document, the compiled plan: they
  outlive the batch), and
- collects only the youngest generation, every :data:`YOUNG_THRESHOLD` net allocations instead
  of 700: a cycle made and dropped meanwhile (a failure's exception, say) is still collected;
  what survives one collection is not looked at again before the batch ends.

The previous settings come back when the last batch running in the process ends (the older
generations are then collected as usual); a process that froze objects itself keeps them frozen.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000
OLDER_THRESHOLD = 1_000_000  # collections of a younger generation before an older one: never

_active = 0  # batches running in this process
_saved: tuple[tuple[int, int, int], bool] | None = None  # thresholds, whether we froze


@contextmanager
def batch_collector(enabled: bool = True) -> Iterator[None]:
    """Apply the batch settings (see the module docstring) for the ``with`` block."""
    global _active, _saved
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
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if _active == 0 and _saved is not None:
            old, froze = _saved
            _saved = None
            gc.set_threshold(*old)
            if froze:
                gc.unfreeze()


__all__ = ["OLDER_THRESHOLD", "YOUNG_THRESHOLD", "batch_collector"]
