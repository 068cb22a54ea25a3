"""Shared bench plumbing: the seed server as a separate process, and measured subprocesses.

Every measured runner is a child process; its wall time is taken around spawn-to-exit and its peak
RSS is the ``ru_maxrss`` that ``os.wait4`` reports for that child alone (the same figure
``/usr/bin/time -v`` prints as "Maximum resident set size").
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"


@dataclass
class Measurement:
    wall_s: float
    max_rss_kb: int
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def measure(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600.0,
) -> Measurement:
    """Run ``argv`` to completion; wall time and the child's own peak RSS."""
    out_path = RESULTS / f".stdout-{os.getpid()}"
    err_path = RESULTS / f".stderr-{os.getpid()}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    with out_path.open("w+b") as out, err_path.open("w+b") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    out_path.unlink(missing_ok=True)
    err_path.unlink(missing_ok=True)
    return Measurement(
        wall, int(usage.ru_maxrss), proc.returncode, stdout, stderr, timed_out.is_set()
    )


class SeedServerProcess:
    """``python -m weft.testing.seed_server`` in its own process, on a free loopback port."""

    def __init__(self, polls: int, terminal: str = "succeeded") -> None:
        self.polls = polls
        self.terminal = terminal
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> SeedServerProcess:
        argv = [sys.executable, "-m", "weft.testing.seed_server", "--port", "0"]
        argv += ["--polls", str(self.polls), "--terminal", self.terminal]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening "):
            self.__exit__()
            raise RuntimeError(f"seed server did not start (got {line!r})")
        self.base_url = line.split()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.base_url}/_seed/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base_url}/_seed/stats", timeout=10) as resp:
            data = json.loads(resp.read())
        assert isinstance(data, dict)
        return data


@dataclass
class Summary:
    """Repeated measurements of one runner at one size.

    Wall time is the best of the repeats (the run least disturbed by other work on the machine);
    peak RSS is the median.
    """

    walls: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def wall(self) -> float:
        return min(self.walls)

    @property
    def rss_mb(self) -> float:
        return statistics.median(self.rss_kb) / 1024


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text (and Markdown-compatible) table."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        padded = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)]
        return "| " + " | ".join(padded) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def machine() -> str:
    cpus = os.cpu_count() or 0
    model = ""
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    py = ".".join(map(str, sys.version_info[:3]))
    return f"{cpus} cores{' ' + model if model else ''}, Python {py}"
