"""Run every benchmark in bench/ and print one combined report.

    python bench/run_all.py [--repeat 5] [--only NAME,...] [--skip NAME,...] [--timeout 1800]

Each ``bench/bench_*.py`` script runs as its own subprocess (whichever are present; a missing one
is simply not listed), then ``compare_runners.py``. Their own tables are printed in turn, followed
by a summary table: script, outcome, time. The report is also written to
``bench/results/latest.md``. Exit status is 0 when every script ran to completion.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BENCH, RESULTS, machine, table


def scripts() -> list[Path]:
    found = sorted(BENCH.glob("bench_*.py"))
    return [*found, BENCH / "compare_runners.py"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=5, help="compare_runners: runs per size")
    parser.add_argument("--only", default="", help="comma-separated script names to run")
    parser.add_argument("--skip", default="", help="comma-separated script names to skip")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per script")
    args = parser.parse_args(argv)
    only = {n.removesuffix(".py") for n in args.only.split(",") if n}
    skip = {n.removesuffix(".py") for n in args.skip.split(",") if n}

    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    started = time.strftime("%Y-%m-%d %H:%M")
    report: list[str] = [f"# weft benchmarks — {started}, {machine()}", ""]
    summary: list[list[str]] = []
    failures = 0
    for script in scripts():
        name = script.stem
        if (only and name not in only) or name in skip:
            continue
        argv_ = [sys.executable, str(script)]
        if name == "compare_runners":
            argv_ += ["--repeat", str(args.repeat)]
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                argv_,
                cwd=BENCH.parent,
                env=env,
                stdout=subprocess.PIPE,  # progress on stderr streams through
                text=True,
                timeout=args.timeout,
            )
            seconds = time.perf_counter() - start
            output = proc.stdout.rstrip()
            if proc.returncode == 0:
                outcome = "ok"
            else:
                failures += 1
                outcome = f"exit {proc.returncode} (see its stderr above)"
        except subprocess.TimeoutExpired as exc:
            seconds = time.perf_counter() - start
            failures += 1
            raw = exc.stdout or ""
            output = (raw.decode(errors="replace") if isinstance(raw, bytes) else raw).rstrip()
            outcome = f"timed out after {args.timeout:.0f} s"
        print(output, flush=True)
        if outcome != "ok":
            print(f"   ({outcome})", flush=True)
        print(flush=True)
        report += [f"## {name}", "", "```", output, "```", ""]
        summary.append([name, outcome, f"{seconds:.1f}"])

    print(f"== summary ({started}, {machine()})")
    summary_table = table(["script", "outcome", "seconds"], summary)
    print(summary_table)
    report += ["## summary", "", summary_table, ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text("\n".join(report))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
