"""Engine overhead as CPU time, the server in its own process: the steadier figure for before/after.

    python bench/bench_engine_cpu.py [--rounds 7]

The seed's polling loop (1,004 steps, ``../shared``) against ``weft.testing.seed_server`` run as a
separate process, so only the client's CPU (``time.process_time``) is counted: a plain aiohttp
loop making the same requests, weft without a store, weft with a ``normal`` SQLite store.
Rounds interleave the three; medians are printed, and the overhead per step against the plain
loop. To compare two checkouts, run the script from each (the same server options) one after the
other, twice (issue 15's before/after).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if not bench_engine.SEED.exists():
        print(f"skipped: the seed is not at {bench_engine.SEED}")
        return
    from weft.store import open_store

    server = subprocess.Popen(
        [sys.executable, "-m", "weft.testing.seed_server", "--port", "0", "--polls", "1000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base = server.stdout.readline().split()[-1]
        out: dict[str, list[float]] = {"plain": [], "no store": [], "store normal": []}
        steps = 0
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"{tmp}/normal.sqlite3")
            try:
                asyncio.run(bench_engine.weft_loop(base, 1000, store))  # warm up
                for _ in range(args.rounds):
                    for name in out:
                        c0 = time.process_time()
                        if name == "plain":
                            asyncio.run(bench_engine.plain_loop(base, 1000))
                        else:
                            recorder = store if name == "store normal" else None
                            steps = asyncio.run(bench_engine.weft_loop(base, 1000, recorder))
                        out[name].append(time.process_time() - c0)
            finally:
                store.close()
    finally:
        server.terminate()
        server.wait()
    median = {k: sorted(v)[len(v) // 2] for k, v in out.items()}
    print(f"client CPU per run of {steps} steps (median of {args.rounds}):")
    for name, cpu in median.items():
        extra = ""
        if name != "plain":
            extra = f"; overhead {(cpu - median['plain']) / steps * 1e6:.1f} µs/step"
        print(f"  {name:<13} {cpu * 1000:7.1f} ms{extra}")


if __name__ == "__main__":
    main()
