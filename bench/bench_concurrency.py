"""Many workflow runs at once in one process: aggregate steps/s, peak RSS, RSS per in-flight run.

    python bench/bench_concurrency.py [--runs 1000] [--concurrency 1000] [--targets seed,civitai]

Each target runs as a measured child process (``--child``) that starts ``--runs`` workflow runs
through ``weft.run_async`` with one shared aiohttp transport, at most ``--concurrency`` in flight,
against a server in this (parent) process, so the child's peak RSS is weft's alone. A one-run
child gives the process's fixed footprint; RSS per in-flight run = (peak(N) − peak(1)) / N.

Targets:
- ``seed``: the seed document (``../shared``) against ``weft.testing.seed_server``
  (``--polls`` non-terminal reads per run, pacing ``--pace``);
- ``civitai``: the Civitai bundle's own Arazzo workflow against ``weft.civitai.simulator`` with
  short job timings (issue 7's 1,000-run figure). Until weft ships that workflow the target is
  skipped with its reason, like anything else missing (the engine, the simulator, ../shared).

Targets (issue 7): ≥ 2,000 steps/s aggregate, ≤ 50 KB RSS per in-flight run, zero failed runs.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
from harness import SeedServerProcess, machine, measure, table

TARGETS = ("seed", "civitai")


class Skip(Exception):
    pass


# --------------------------------------------------------------------------- child


async def _child(spec: dict[str, Any]) -> dict[str, Any]:
    from weft import run_async
    from weft.document import load
    from weft.http import AiohttpTransport

    loaded = load(spec["document"])
    runs, concurrency = int(spec["runs"]), int(spec["concurrency"])
    gate = asyncio.Semaphore(concurrency)
    statuses: dict[str, int] = {}
    executions = 0
    errors: list[str] = []
    transport = AiohttpTransport(limit=concurrency)

    async def one(i: int) -> None:
        nonlocal executions
        inputs = dict(spec["inputs"])
        if "externalId" in inputs:  # an idempotency key: one per run
            inputs["externalId"] = f"bench-{os.getpid()}-{i}"
        async with gate:
            result = await run_async(
                loaded,
                spec.get("workflow"),
                inputs,
                servers=spec["servers"],
                pace=spec["pace"],
                max_steps=int(spec.get("max_steps", 1000)),
                transport=transport,
            )
        statuses[result.status] = statuses.get(result.status, 0) + 1
        executions += int(getattr(result, "executions", 0) or 0)
        if result.status != "succeeded" and len(errors) < 3:
            errors.append(str(getattr(result, "error", None))[:200])

    start = time.perf_counter()
    try:
        await asyncio.gather(*(one(i) for i in range(runs)))
    finally:
        await transport.close()
    return {
        "seconds": time.perf_counter() - start,
        "statuses": statuses,
        "executions": executions,
        "errors": errors,
    }


# --------------------------------------------------------------------------- targets


def _require_engine() -> None:
    try:
        importlib.import_module("weft.api")
        from weft import run_async  # noqa: F401
        from weft.http import AiohttpTransport  # noqa: F401
    except ImportError as exc:
        raise Skip(f"the engine's library API is not in this build ({exc})") from exc


def _civitai_bundle() -> Path:
    try:
        civitai = importlib.import_module("weft.civitai")
        importlib.import_module("weft.civitai.simulator")
    except ImportError as exc:
        raise Skip(f"weft.civitai.simulator is not in this build ({exc})") from exc
    root = Path(civitai.__file__).resolve().parent
    found = sorted(p for p in root.rglob("*.arazzo.y*ml"))
    if not found:
        raise Skip("the Civitai bundle has no Arazzo workflow yet (weft/civitai/**/*.arazzo.yaml)")
    return found[0]


def _civitai_inputs(document: Path, token: str) -> tuple[str | None, dict[str, Any]]:
    """Inputs for the bundle's first workflow, filled by name from the simulator's catalog."""
    from weft.civitai.simulator import DEFAULT_CATALOG
    from weft.document import load

    workflow = load(str(document)).document.workflows[0]
    schema = getattr(workflow, "inputs", None) or {}
    if not isinstance(schema, dict):
        schema = getattr(schema, "raw", {}) or {}
    entry = next((e for e in DEFAULT_CATALOG if "sdxl" in str(e).lower()), DEFAULT_CATALOG[0])
    known: dict[str, Any] = {
        "apiKey": token,
        "token": token,
        "modelVersionId": entry.version_id,
        "prompt": "a lighthouse at dusk",
        "quantity": 1,
        "externalId": "bench",
        "waitSeconds": 0,  # plain polling (paced by weft), not long polls
    }
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    inputs = {k: v for k, v in known.items() if not properties or k in properties}
    return getattr(workflow, "workflow_id", None), inputs


def measure_target(target: str, args: argparse.Namespace) -> list[list[str]]:
    _require_engine()
    if target == "seed":
        if not peers.seed_available():
            raise Skip(f"the seed is not available under {peers.SHARED_SEED}")
        with SeedServerProcess(polls=args.polls) as server:
            spec = {
                "document": str(peers.SEED_DOC),
                "workflow": peers.WORKFLOW_ID,
                "inputs": peers.INPUTS,
                "servers": peers.server_urls(server.base_url),
                "pace": args.pace,
            }
            return _measure_pair(target, spec, args)
    # civitai
    document = _civitai_bundle()
    from weft.civitai.simulator import SimulatorConfig, start_simulator_thread

    handle = start_simulator_thread(SimulatorConfig.fast())
    try:
        workflow_id, inputs = _civitai_inputs(document, handle.token)
        spec = {
            "document": str(document),
            "workflow": workflow_id,
            "inputs": inputs,
            "servers": {},  # filled per source below
            "pace": args.pace,
            "base_url": handle.base_url,
        }
        from weft.document import load

        for name, source in load(str(document)).sources.items():
            # keep each description's base path (e.g. /api/v1), move the host to the simulator
            servers = source.openapi.servers if source.openapi else []
            path = urlparse(servers[0].url).path.rstrip("/") if servers else ""
            spec["servers"][name] = handle.base_url + path
        return _measure_pair(target, spec, args)
    finally:
        handle.stop()


def _run_child(spec: dict[str, Any], timeout: float) -> tuple[dict[str, Any], int]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    m = measure(argv, timeout=timeout, env=dict(os.environ))
    if m.returncode != 0 or m.timed_out:
        tail = (m.stderr.strip() or m.stdout.strip())[-300:]
        raise Skip(
            f"child failed (exit {m.returncode}{', timed out' if m.timed_out else ''}): {tail}"
        )
    return json.loads(m.stdout.strip().splitlines()[-1]), m.max_rss_kb


def _measure_pair(target: str, spec: dict[str, Any], args: argparse.Namespace) -> list[list[str]]:
    single, rss_one = _run_child({**spec, "runs": 1, "concurrency": 1}, args.timeout)
    many, rss_many = _run_child(
        {**spec, "runs": args.runs, "concurrency": args.concurrency}, args.timeout
    )
    failed = args.runs - many["statuses"].get("succeeded", 0)
    steps_per_s = many["executions"] / many["seconds"] if many["seconds"] else 0.0
    per_run_kb = max(rss_many - rss_one, 0) / max(min(args.runs, args.concurrency), 1)
    row = [
        target,
        str(args.runs),
        str(args.concurrency),
        str(many["executions"]),
        f"{many['seconds']:.2f}",
        f"{steps_per_s:.0f}",
        f"{rss_one / 1024:.1f}",
        f"{rss_many / 1024:.1f}",
        f"{per_run_kb:.1f}",
        str(failed),
    ]
    if many["errors"]:
        print(f"  {target}: first errors: {many['errors']}", file=sys.stderr)
    del single
    return [row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--polls", type=int, default=10, help="seed target: reads before success")
    parser.add_argument("--pace", default="0.02", help="loop pacing passed to weft.run_async")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(asyncio.run(_child(json.loads(args.child)))))
        return 0

    headers = [
        "target",
        "runs",
        "concurrency",
        "steps",
        "seconds",
        "steps/s",
        "RSS 1 run (MB)",
        f"RSS {args.runs} (MB)",
        "KB per in-flight run",
        "failed",
    ]
    rows: list[list[str]] = []
    notes: list[str] = []
    for target in [t for t in args.targets.split(",") if t]:
        if target not in TARGETS:
            parser.error(f"unknown target {target!r}")
        try:
            rows += measure_target(target, args)
        except Skip as exc:
            rows.append([target] + ["—"] * (len(headers) - 1))
            notes.append(f"{target}: skipped ({exc})")
    print(f"Concurrent runs in one process — {time.strftime('%Y-%m-%d %H:%M')}, {machine()}")
    print(table(headers, rows))
    for note in notes:
        print(note)
    print("targets: ≥ 2000 steps/s, ≤ 50 KB per in-flight run, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
