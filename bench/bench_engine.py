"""Engine overhead: CPU per step against a plain aiohttp loop, and peak RSS of a long poll loop.

Run: ``python bench/bench_engine.py``. The loops make the same requests to the same loopback
seed server in the same process; engine overhead per step = (weft time - plain time) / steps,
without a run store and with one (``durability`` normal — the default of ``weft run`` — and
strict; the store file goes in a temporary directory, set TMPDIR to measure another disk).
Peak RSS of a 2,000-iteration polling loop is measured in a subprocess (and for 500 iterations,
to show it does not grow with the iteration count).
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from weft.testing.seed_server import SeedServerConfig, start_seed_server_thread

ROOT = Path(__file__).resolve().parents[1]
SEED = (
    ROOT.parent / "shared" / "seed" / "arazzo" / "civitai-model-version-to-generation-workflow.yml"
)
INPUTS = {"apiKey": "bench-token", "modelVersionId": 42, "engine": "sdxl", "prompt": "fox"}


async def plain_loop(base: str, polls: int) -> int:
    headers = {"Authorization": "Bearer bench-token"}
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/api/v1/model-versions/42", headers=headers) as r:
            air = (await r.json())["air"]
        body = {
            "steps": [
                {
                    "$type": "imageGen",
                    "name": "generate",
                    "input": {"engine": "sdxl", "model": air, "prompt": "fox"},
                }
            ]
        }
        async with s.post(f"{base}/v2/consumer/workflows", json=body, headers=headers) as r:
            wf = (await r.json())["id"]
        n = 2
        while True:
            async with s.get(f"{base}/v2/consumer/workflows/{wf}", headers=headers) as r:
                status = (await r.json())["status"]
            n += 1
            if status == "succeeded":
                break
        async with s.get(f"{base}/v2/consumer/workflows/{wf}", headers=headers) as r:
            await r.json()
        return n + 1


async def weft_loop(base: str, polls: int, recorder: object = None) -> int:
    from weft.api import run_async

    result = await run_async(
        SEED,
        inputs=INPUTS,
        pace="off",
        max_steps=polls + 10,
        servers={"civitaiSiteApi": base + "/api/v1", "civitaiOrchestrationApi": base},
        recorder=recorder,  # type: ignore[arg-type]
    )
    assert result.status == "succeeded", result.error
    return result.executions


def timed(fn, base: str, polls: int, *args: object) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    steps = asyncio.run(fn(base, polls, *args))
    return time.perf_counter() - t0, steps


def overhead(polls: int = 1000, rounds: int = 3) -> None:
    from weft.store import open_store

    srv = start_seed_server_thread(SeedServerConfig(polls_before_terminal=polls))
    rows = ["no store", "store normal", "store strict"]
    best = dict.fromkeys(["plain", *rows], float("inf"))
    steps = 0
    with tempfile.TemporaryDirectory() as tmp:
        stores = {
            "store normal": open_store(f"{tmp}/normal.sqlite3"),
            "store strict": open_store(f"{tmp}/strict.sqlite3", durability="strict"),
        }
        try:
            timed(weft_loop, srv.base_url, polls)  # warm up imports and caches
            for _ in range(rounds):
                best["plain"] = min(best["plain"], timed(plain_loop, srv.base_url, polls)[0])
                for row in rows:
                    t, steps = timed(weft_loop, srv.base_url, polls, stores.get(row))
                    best[row] = min(best[row], t)
        finally:
            srv.stop()
            for store in stores.values():
                store.close()
    plain = best["plain"]
    print(f"steps per run: {steps}")
    print(f"plain aiohttp loop:  {plain * 1000:7.1f} ms  ({plain / steps * 1e6:.0f} µs/step)")
    for row in rows:
        t = best[row]
        per_step = (t - plain) / steps * 1000
        print(
            f"weft ({row + ')':<13} {t * 1000:7.1f} ms  ({t / steps * 1e6:.0f} µs/step);"
            f" engine overhead {per_step:.3f} ms/step"
        )
    print("(target: engine overhead <= 0.1 ms/step without a store, ~0.08 with the default store)")


def rss_child(polls: int) -> None:
    srv = start_seed_server_thread(SeedServerConfig(polls_before_terminal=polls))
    try:
        asyncio.run(weft_loop(srv.base_url, polls))
    finally:
        srv.stop()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def rss(polls: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(polls)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--rss-child":
        rss_child(int(sys.argv[2]))
        return
    overhead()
    small, large = rss(500), rss(2000)
    print(f"peak RSS, 500-iteration poll loop:  {small:.1f} MB")
    print(f"peak RSS, 2000-iteration poll loop: {large:.1f} MB (target <= 60, not growing)")


if __name__ == "__main__":
    main()
