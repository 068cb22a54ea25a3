"""The collector while batches run: the youngest generation only, at least every YOUNG_INTERVAL
(cycles made and dropped meanwhile are still freed), the previous settings back after the last
batch, nothing frozen twice."""

from __future__ import annotations

import asyncio
import gc
import weakref

from weft.batch.collector import (
    OLDER_THRESHOLD,
    YOUNG_INTERVAL,
    YOUNG_THRESHOLD,
    batch_collector,
)


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


async def test_settings_apply_while_batches_run_and_come_back_after_the_last() -> None:
    before = gc.isenabled(), gc.get_threshold()
    frozen = gc.get_freeze_count()
    async with batch_collector():
        during = gc.get_threshold()
        assert during[0] >= YOUNG_THRESHOLD
        assert during[1:] == (OLDER_THRESHOLD, OLDER_THRESHOLD)  # the young generation only
        assert gc.get_freeze_count() >= frozen
        async with batch_collector():  # a second batch in the same process
            assert gc.get_threshold() == during
        assert gc.get_threshold() == during  # the first is still running
        # a cycle dropped while the batch runs is freed within YOUNG_INTERVAL, however few
        # objects are allocated meanwhile (Python counts net allocations)
        cycle = Node()
        gone = weakref.ref(cycle)
        del cycle
        await asyncio.sleep(YOUNG_INTERVAL * 3)
        assert gone() is None
    assert (gc.isenabled(), gc.get_threshold()) == before
    assert gc.get_freeze_count() == frozen


async def test_a_process_that_froze_objects_keeps_them_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        async with batch_collector():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


async def test_off_leaves_the_collector_alone() -> None:
    before = gc.isenabled()
    async with batch_collector(enabled=False):
        assert gc.isenabled() == before
