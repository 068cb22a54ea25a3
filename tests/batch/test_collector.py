"""The collector's batch settings: applied while batches run, the previous ones back after the
last, nothing frozen twice."""

from __future__ import annotations

import gc

from weft.batch.collector import OLDER_THRESHOLD, YOUNG_THRESHOLD, batch_collector


def test_settings_apply_while_batches_run_and_come_back_after_the_last() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    with batch_collector():
        during = gc.get_threshold()
        assert during[0] >= YOUNG_THRESHOLD
        assert during[1:] == (OLDER_THRESHOLD, OLDER_THRESHOLD)  # the young generation only
        assert gc.get_freeze_count() >= frozen
        with batch_collector():  # a second batch in the same process
            assert gc.get_threshold() == during
        assert gc.get_threshold() == during  # the first is still running
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_a_process_that_froze_objects_keeps_them_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with batch_collector():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_off_leaves_the_collector_alone() -> None:
    before = gc.get_threshold()
    with batch_collector(enabled=False):
        assert gc.get_threshold() == before
