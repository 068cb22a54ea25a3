"""Engine overhead: CPU per step against a plain aiohttp loop, and peak RSS of a long poll loop.

Run: ``python bench/bench_engine.py``. Both loops make the same requests to the same loopback
seed server in the same process; engine overhead per step = (weft time - plain time) / steps.
Peak RSS of a 2,000-iteration polling loop is measured in a subprocess (and for 500 iterations,
to show it does not grow with the iteration count).
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
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


async def weft_loop(base: str, polls: int) -> int:
    from weft.api import run_async

    result = await run_async(
        SEED,
        inputs=INPUTS,
        pace="off",
        max_steps=polls + 10,
        servers={"civitaiSiteApi": base + "/api/v1", "civitaiOrchestrationApi": base},
    )
    assert result.status == "succeeded", result.error
    return result.executions


def timed(fn, base: str, polls: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    steps = asyncio.run(fn(base, polls))
    return time.perf_counter() - t0, steps


def overhead(polls: int = 1000, rounds: int = 3) -> None:
    srv = start_seed_server_thread(SeedServerConfig(polls_before_terminal=polls))
    try:
        timed(weft_loop, srv.base_url, polls)  # warm up imports and caches
        best_plain, best_weft, steps = float("inf"), float("inf"), 0
        for _ in range(rounds):
            p, _ = timed(plain_loop, srv.base_url, polls)
            w, steps = timed(weft_loop, srv.base_url, polls)
            best_plain, best_weft = min(best_plain, p), min(best_weft, w)
    finally:
        srv.stop()
    per_step = (best_weft - best_plain) / steps * 1000
    print(f"steps per run: {steps}")
    print(
        f"plain aiohttp loop: {best_plain * 1000:.1f} ms  ({best_plain / steps * 1e6:.0f} µs/step)"
    )
    print(f"weft (no store):    {best_weft * 1000:.1f} ms  ({best_weft / steps * 1e6:.0f} µs/step)")
    print(f"engine overhead:    {per_step:.3f} ms/step (target <= 0.1)")


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
