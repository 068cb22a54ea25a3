"""A longer fuzz run than CI's: every test of ``tests/fuzz`` with many new cases.

Usage: ``python bench/fuzz_long.py [--examples 20000] [--seed N] [-k EXPR]``

CI runs a fixed few thousand cases (``python -m pytest tests/fuzz``, the same ones every time).
This runs ``--examples`` new ones per fuzz test (the real-process and Civitai tests fewer: see
``long_cap`` in ``tests/fuzz/strategies.py``), drawn from ``--seed`` (random by default, and
printed): a failure prints the case, and the same command with the same seed replays it. It is
the same as ``WEFT_FUZZ_EXAMPLES=20000 python -m pytest tests/fuzz --hypothesis-seed=N``.
Expect about 30 ms per case in process on one core (20,000 examples: a few hours in all).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000, help="new cases per fuzz test")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one")
    parser.add_argument("-k", dest="select", default=None, help="only tests matching (pytest -k)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    command = [sys.executable, "-m", "pytest", "tests/fuzz", "-x", "-q",
               f"--hypothesis-seed={seed}", "--hypothesis-show-statistics"]  # fmt: skip
    if args.select:
        command += ["-k", args.select]
    env = {**os.environ, "WEFT_FUZZ_EXAMPLES": str(args.examples)}
    print(f"fuzz: {args.examples} cases per test, seed {seed}", flush=True)
    started = time.monotonic()
    code = subprocess.call(command, cwd=ROOT, env=env)
    minutes = (time.monotonic() - started) / 60
    print(f"fuzz: exit {code} after {minutes:.1f} min; replay with --seed {seed}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
