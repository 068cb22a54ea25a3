"""Running the ``weft`` command line the way a user does, and judging what came out.

:func:`run_cli` runs ``weft.cli.main`` in this process (click's runner isolates stdin, stdout,
stderr and the environment) under a time bound; :func:`run_subprocess` runs a real ``weft``
process. :func:`assert_clean` is the fuzz suite's verdict: an exit code in 0-4, no traceback, no
"internal error" line (exit 70 means a defect of weft).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

from click.testing import CliRunner

from weft.cli import main

CLEAN_EXITS = frozenset({0, 1, 2, 3, 4})
IN_PROCESS_TIMEOUT = 30.0  # seconds: a command still running then is a hang


class Hang(BaseException):
    """A command ran past its time bound (not an Exception: weft's ``main`` must not turn it
    into an internal-error line)."""


@dataclass(frozen=True)
class Outcome:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"weft {' '.join(self.args)}\nexit {self.code}\n--- stdout\n{self.stdout[-3000:]}"
            f"\n--- stderr\n{self.stderr[-3000:]}"
        )


@contextlib.contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in this (main) thread after ``seconds``."""

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str | None] | None = None,
    timeout: float = IN_PROCESS_TIMEOUT,
    stdin: str | None = None,
) -> Outcome:
    """``weft ARGS`` in this process; a defect (exit 70) is run once more with ``WEFT_DEBUG=1``
    so the outcome shows its traceback. NUL characters are dropped from ``args``: no command
    line can carry them (``execve`` ends each argument at the first one)."""
    args = [a.replace("\x00", "") for a in args]
    outcome = _run_once(args, env, timeout, stdin)
    if outcome.code == 70:
        debug = {**(env or {}), "WEFT_DEBUG": "1"}
        try:
            again = _run_once(args, debug, timeout, stdin)
        except Exception as exc:  # the traceback of the defect
            import traceback

            trace = "".join(traceback.format_exception(exc))
            return Outcome(outcome.args, 70, outcome.stdout, outcome.stderr + "\n" + trace)
        return Outcome(outcome.args, 70, outcome.stdout, outcome.stderr + "\n" + again.stderr)
    return outcome


def _run_once(
    args: Sequence[str], env: Mapping[str, str | None] | None, timeout: float, stdin: str | None
) -> Outcome:
    runner = CliRunner()
    code = 0
    with runner.isolation(input=stdin, env=env) as (out, err, _), time_bound(timeout):
        try:
            result = main(list(args))
            code = result if isinstance(result, int) else 0
        except SystemExit as exc:
            code = _code(exc)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace")
    # validate/lint/describe freeze the garbage collector's view of a loaded document (a
    # one-shot process); many commands in one process must not keep every document alive
    gc.unfreeze()
    return Outcome(tuple(args), code, stdout, stderr)


def run_subprocess(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    cwd: str | os.PathLike[str] | None = None,
    stdin: bytes | None = None,
) -> Outcome:
    """A real ``weft ARGS`` process (``python -m weft``)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("WEFT_DEBUG", None)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "weft", *args],
            capture_output=True,
            env=full_env,
            timeout=timeout,
            cwd=cwd,
            input=stdin,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"weft {' '.join(args)} still running after {timeout} s") from exc
    return Outcome(
        tuple(args),
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def assert_clean(outcome: Outcome, exits: frozenset[int] = CLEAN_EXITS) -> None:
    """The command ended the way a user's command should: a known exit code, no traceback, no
    internal-error line."""
    text = outcome.stdout + outcome.stderr
    assert "Traceback (most recent call last)" not in text, str(outcome)
    assert "internal error" not in outcome.stderr, str(outcome)
    assert outcome.code in exits, str(outcome)
