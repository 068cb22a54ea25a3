"""Workers and commands as separate processes (DBOS keeps process-global state): start, wait
for, kill -9, stop; every wait is bounded and fails with the process's own words."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BOUND = 180.0  # seconds any wait may last before the test fails (a hang, not a speed check)


def environment(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WEFT_STORE", "CIVITAI_API_TOKEN") and not k.startswith("WEFT_INPUT_")
    }
    env["PYTHONPATH"] = str(REPO / "src")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def weft(*args: str) -> list[str]:
    return [sys.executable, "-m", "weft", *args]


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A weft command to its end (bounded)."""
    return subprocess.run(
        weft(*args), cwd=cwd, env=environment(**env), capture_output=True, text=True,
        timeout=BOUND,
    )  # fmt: skip


def wait_until(condition: Callable[[], bool], what: str, *, alive: Sequence[Worker] = ()) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        for w in alive:
            if w.proc.poll() is not None:
                pytest.fail(f"worker {w.name} ended while waiting for {what}:\n{w.log()}")
        if time.monotonic() > deadline:
            logs = "\n".join(w.log() for w in alive)
            pytest.fail(f"gave up waiting for {what}\n{logs}")
        time.sleep(0.05)


class Worker:
    """``weft worker`` in a process of its own, its stderr in a file."""

    def __init__(
        self,
        url: str,
        name: str,
        folder: Path,
        *,
        concurrency: int = 8,
        lease: float = 3.0,
        rate: float | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.stderr = folder / f"{name}.log"
        args = ["worker", "--store", url, "--name", name, "--concurrency", str(concurrency),
                "--lease", str(lease)]  # fmt: skip
        if rate is not None:
            args += ["--rate", str(rate)]
        with self.stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                weft(*args), cwd=folder, env=environment(**(env or {})),
                stdout=subprocess.DEVNULL, stderr=err,
            )  # fmt: skip

    def log(self) -> str:
        return f"--- {self.name} ---\n" + (self.stderr.read_text() if self.stderr.exists() else "")

    def ready(self) -> Worker:
        wait_until(
            lambda: " ready: " in self.log(), f"worker {self.name} to be ready", alive=[self]
        )
        return self

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=BOUND)

    def stop(self) -> int:
        """SIGTERM (rows in flight finish), then its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"worker {self.name} did not stop:\n{self.log()}")

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=BOUND)


@contextmanager
def two_workers(url: str, folder: Path, **options: Any) -> Iterator[tuple[Worker, Worker]]:
    """Workers ``w1`` and ``w2`` with the same ``options``, both ready; killed at the end if
    they still run."""
    with Worker(url, "w1", folder, **options) as w1, Worker(url, "w2", folder, **options) as w2:
        w1.ready()
        w2.ready()
        yield w1, w2
