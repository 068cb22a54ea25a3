"""kill -9 in the middle of recording: every acknowledged call survives, the file stays sound."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from weft.store import open_store

_LOOP = textwrap.dedent(
    """
    import sys
    from weft.store import open_store
    store = open_store(sys.argv[1])
    store.run_started("crashy", document_uri="d", document_hash="h", workflow_id="poll",
                      inputs={}, state={"position": 0})
    i = 0
    while True:
        store.request_sending("crashy", step_key="poll", attempt=1, summary={"i": i},
                              resend_safe=True, state={"position": i})
        store.attempt_finished("crashy", step_key="poll", attempt=1, record={"i": i})
        store.checkpoint("crashy", state={"position": i + 1, "pad": "x" * 3000})
        print(i + 1, flush=True)
        i += 1
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.parametrize("after", [1, 37, 400])
def test_kill_9_mid_loop_keeps_every_acknowledged_step(store_path: Path, after: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _LOOP, str(store_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acknowledged = 0
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= after:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # lines the child printed before it died may still sit in the pipe: the last one counts
    for line in proc.stdout.read().splitlines():
        if line.strip():
            acknowledged = int(line)
    proc.stdout.close()
    assert acknowledged >= after

    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with open_store(store_path) as store:
        run = store.get_run("crashy")
        assert run is not None and run.status == "running"
        position = run.state["position"]
        # everything printed was committed; at most one more step got in before the kill
        assert acknowledged <= position <= acknowledged + 1
        (stats,) = run.steps
        assert stats.attempts in (position, position + 1)
        if run.pending is not None:  # killed between write-ahead and outcome
            assert run.pending.summary == {"i": stats.attempts}
        # the store carries on after the crash
        store.checkpoint("crashy", state={"position": -1})
