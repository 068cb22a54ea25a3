"""The ratio to the wire in instructions: what one Civitai run costs the client, counted by
valgrind (callgrind), so the figure does not move with the machine's load.

    python bench/bench_instructions.py [--small 100] [--large 400]
                                       [--targets plain,civitai-engine,civitai]

The wall-clock ratio (``bench_concurrency.py``) swings from 0.39 to 0.76 between repeats on a
shared 2-core machine. Here each target's client (the same ``--child`` processes as
``bench_concurrency.py``: ``plain`` aiohttp, the engine alone, ``run_batch`` with the store on)
runs under ``valgrind --tool=callgrind`` twice, with ``--small`` and ``--large`` rows, against
``weft civitai simulate`` in its own process (not counted). Instructions per run =
(I(large) − I(small)) / (large − small), so start-up, imports and the document load cancel out;
the same rows give the same count within a fraction of a percent.

``ratio`` = plain's instructions per run over the target's: the share of the target's work a
plain client would do for the same requests. It is a model of CPU, not time: it weighs an
interpreter instruction and an SQLite or zlib one alike, and valgrind runs the client ~20× slower
than real time, so the store's flush interval is stretched by ``--dilation`` (default 20: its
100 ms become 2 s) to let records coalesce per flush as they do at full speed.

Skips, saying why, when valgrind is not installed (Debian's ``valgrind``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_concurrency as bc
from harness import machine, table

TARGETS = ("plain", "civitai-engine", "civitai")
_COLLECTED = re.compile(r"Collected : (\d+)")


class Skip(Exception):
    pass


def _counted(kind: str, runs: int, args: argparse.Namespace) -> dict[str, Any]:
    """One child under callgrind against a fresh simulator: its instructions and its answer."""
    with tempfile.TemporaryDirectory(prefix="weft-bench-instr-") as tmp:
        rows = Path(tmp) / "rows.jsonl"
        bc._write_rows(rows, runs)
        store = Path(tmp) / "runs.db"
        with bc.SimulatorProcess(0.0, args.wait_unit) as sim:
            spec = {
                "rows": str(rows),
                "store": str(store),
                "out": str(Path(tmp) / "out"),
                "token": bc.SIM_TOKEN,
                "base_url": sim.base_url,
                "runs": runs,
                "concurrency": runs,
            }
            env = dict(os.environ)
            env["WEFT_STORE_FLUSH_INTERVAL"] = f"{0.1 * args.dilation:g}"
            argv = [
                "valgrind", "--tool=callgrind", f"--callgrind-out-file={Path(tmp) / 'cg.out'}",
                sys.executable, str(Path(bc.__file__).resolve()), "--child", kind,
                json.dumps(spec),
            ]  # fmt: skip
            proc = subprocess.run(
                argv, capture_output=True, text=True, env=env, timeout=args.timeout, check=False
            )
        found = _COLLECTED.findall(proc.stderr)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not found or not lines:
            raise Skip(f"{kind} child failed (exit {proc.returncode}): {proc.stderr[-300:]}")
        out = json.loads(lines[-1])
        out["instructions"] = int(found[-1])
        problem = bc._check_simulator(sim, runs)
        if problem:
            raise Skip(f"{kind}: {problem}")
        if out["statuses"].get("succeeded", 0) != runs:
            raise Skip(f"{kind}: not every run succeeded: {out['statuses']} {out['errors'][:1]}")
    return out


def per_run(kind: str, args: argparse.Namespace) -> float:
    small = _counted(kind, args.small, args)
    large = _counted(kind, args.large, args)
    return (large["instructions"] - small["instructions"]) / (args.large - args.small)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=400)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--wait-unit", type=float, default=0.01)
    parser.add_argument("--dilation", type=float, default=20.0,
                        help="the store's flush interval is 0.1 s times this")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=1200.0)
    args = parser.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    for target in targets:
        if target not in TARGETS:
            parser.error(f"unknown target {target!r}")
    if args.small < 1 or args.large <= args.small:
        parser.error("--small must be at least 1 and --large more than --small")
    print(f"Instructions per Civitai run — {time.strftime('%Y-%m-%d %H:%M')}, {machine()}")
    if shutil.which("valgrind") is None:
        print("skipped: valgrind is not installed (apt-get install valgrind)")
        return 0
    measured: dict[str, float] = {}
    skipped: dict[str, str] = {}
    for target in targets:
        try:
            measured[target] = per_run(target, args)
        except (Skip, subprocess.TimeoutExpired) as exc:
            skipped[target] = str(exc)
    plain = measured.get("plain")
    rows = []
    for target in targets:
        if target in skipped:
            rows.append([target, "—", "—", f"skipped: {skipped[target][:120]}"])
            continue
        count = measured[target]
        ratio = f"{plain / count:.2f}" if plain else "—"
        rows.append([target, f"{count / 1e6:.2f}", ratio, ""])
    print(table(["target", "M instructions per run", "ratio (plain / target)", "note"], rows))
    print(
        f"per run = (I({args.large} runs) − I({args.small} runs)) / {args.large - args.small};"
        f" store flush interval {0.1 * args.dilation:g} s under valgrind"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
