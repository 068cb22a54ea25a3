"""Many workflow runs at once in one process: aggregate steps/s, peak RSS, RSS per in-flight run.

    python bench/bench_concurrency.py [--runs 1000] [--concurrency 1000] [--repeat 3]
                                      [--targets seed,plain,civitai-engine,civitai,...]

Each measurement is a child process (``--child``) whose peak RSS (``ru_maxrss`` from
``os.wait4``) is weft's alone: the servers live in other processes. A one-run child of the same
kind gives the fixed footprint; RSS per in-flight run = (peak(N) − peak(1)) / N. Each target is
measured ``--repeat`` times (fresh server, fresh store, fresh baseline each time) and the table
shows medians.

Targets (measured interleaved: each repeat measures every target once, fresh simulator each):
- ``plain``: the wire baseline. A plain aiohttp client (one session, a pool of
  ``--concurrency``, orjson) making the requests a ``civitai`` run makes (resolve the version,
  submit with ``wait``, long-poll to a terminal status; the bearer token, an idempotency key),
  the same rows, at most ``--concurrency`` at once; its steps counted as the engine counts a
  run's. ``ratio to the wire`` = a target's steps/s over ``plain``'s in the same repeat (median
  printed): the issue's target is ≥ 0.8 for ``civitai``.
- ``civitai-engine``: the same runs through ``weft.run_async`` with one shared transport and
  no run store, no batch: the engine alone.
- ``civitai`` (issue 7's figure): ``weft.batch.run_batch`` — the library behind
  ``weft civitai generate --batch FILE --concurrency N`` — runs the Civitai bundle's
  ``generate-from-model-version`` once per row of a ``--runs``-row JSONL file, at most
  ``--concurrency`` in flight, with the run store **on** (a fresh SQLite file, default
  durability ``normal``), inputs prepared as ``generate --batch`` prepares them (``externalId``
  from each row's run id, the token) and its defaults (``waitSeconds`` 10). The simulator is
  ``weft civitai simulate`` in its own process with short job timings (``--step-seconds``
  per status, ``--wait-unit``). Measures the workflow runs only: no image download.
- ``civitai-generate``: the same rows end to end through ``weft.civitai.batch.generate_batch``
  (what ``weft civitai generate --batch`` calls): the runs *and* each row's image download and
  PNG check (64×64 images, so the simulator's PNG rendering stays small).
- ``seed``: the seed document (``../shared``) through ``weft.run_async`` with one shared aiohttp
  transport and no store, against ``weft.testing.seed_server`` (``--polls`` non-terminal reads
  per run, pacing ``--pace``).

"steps" are step executions as the engine counts them (``executions`` of each run, read from the
store after the child exits, so reading it costs the child nothing); a Civitai run is 4 (resolve,
the nested-workflow step, submit, poll). The parent checks the simulator's own counters after
each batch: one workflow and one charge per row, whatever ``failed`` says.

Targets: ≥ 0.8 of the plain client's steps/s for ``civitai`` (the issue "Performance"); issue 7's
≥ 2,000 steps/s aggregate, ≤ 50 KB RSS per in-flight run, zero failed runs. The CPU column is
the child's CPU time over the batch (every thread), the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
from harness import SeedServerProcess, machine, measure, table

TARGETS = ("seed", "plain", "civitai-engine", "civitai", "civitai-generate")
SIM_TOKEN = "bench-concurrency-token"


class Skip(Exception):
    pass


# --------------------------------------------------------------------------- children


async def _child_seed(spec: dict[str, Any]) -> dict[str, Any]:
    from weft import run_async
    from weft.document import load
    from weft.effects.aiohttp_transport import AiohttpTransport

    loaded = load(spec["document"])
    runs, concurrency = int(spec["runs"]), int(spec["concurrency"])
    gate = asyncio.Semaphore(concurrency)
    statuses: dict[str, int] = {}
    executions = 0
    errors: list[str] = []
    transport = AiohttpTransport(limit=concurrency)

    async def one(i: int) -> None:
        nonlocal executions
        async with gate:
            result = await run_async(
                loaded,
                spec.get("workflow"),
                dict(spec["inputs"]),
                servers=spec["servers"],
                pace=spec["pace"],
                max_steps=int(spec.get("max_steps", 1000)),
                transport=transport,
            )
        statuses[result.status] = statuses.get(result.status, 0) + 1
        executions += int(getattr(result, "executions", 0) or 0)
        if result.status != "succeeded" and len(errors) < 3:
            errors.append(str(getattr(result, "error", None))[:200])

    start, cpu = time.perf_counter(), time.process_time()
    try:
        await asyncio.gather(*(one(i) for i in range(runs)))
    finally:
        await transport.close()
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "statuses": statuses,
        "executions": executions,
        "errors": errors,
    }


def _warm_imports() -> None:
    """Import what ``run_batch`` imports lazily, and make what a process makes once, so the
    timed part is the batch, as the plain client's is (aiohttp makes its TLS context when it
    is imported)."""
    for name in (
        "weft.api",
        "weft.engine.runner",
        "weft.effects.aiohttp_transport",
        "weft.store",
        "weft.document",
        "weft.engine.fastcheck",
        "jsonschema",  # the compiled plan's input validator (once per process)
        "referencing.jsonschema",
    ):
        importlib.import_module(name)
    from weft.effects.aiohttp_transport import AiohttpTransport

    # the TLS context of SSL_CERT_FILE's CA bundle, when it is set (kept for the process)
    AiohttpTransport()


async def _child_civitai(spec: dict[str, Any]) -> dict[str, Any]:
    """``run_batch`` over the rows file, as ``weft civitai generate --batch`` drives it."""
    from weft.batch import run_batch
    from weft.civitai import SOURCES, WORKFLOW_ID, bundle_path
    from weft.civitai.generate import external_id_for

    _warm_imports()

    token, base = spec["token"], spec["base_url"]

    def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
        return {**values, "externalId": external_id_for(run_id), "token": token}

    start, cpu = time.perf_counter(), time.process_time()
    result = await run_batch(
        bundle_path(),
        spec["rows"],
        workflow_id=WORKFLOW_ID,
        defaults={"waitSeconds": 10},  # generate --batch's default long-poll
        concurrency=int(spec["concurrency"]),
        servers={name: base for name in SOURCES},
        store=spec["store"],
        prepare_inputs=prepare,
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    statuses: dict[str, int] = {}
    errors: list[str] = []
    for row in result.rows:
        statuses[row.status] = statuses.get(row.status, 0) + 1
        if not row.ok and len(errors) < 3:
            errors.append(str(row.error)[:200])
    return {"seconds": seconds, "cpu": cpu, "statuses": statuses, "errors": errors}


async def _child_engine(spec: dict[str, Any]) -> dict[str, Any]:
    """The same runs through ``weft.run_async`` (one shared transport, at most ``concurrency``
    at once), no batch and no run store: the engine alone."""
    from weft import run_async
    from weft.civitai import SOURCES, WORKFLOW_ID, bundle_path
    from weft.civitai.generate import external_id_for
    from weft.document import load
    from weft.effects.aiohttp_transport import AiohttpTransport
    from weft.store import new_run_id

    _warm_imports()
    loaded = load(str(bundle_path()))
    rows = [json.loads(line) for line in Path(spec["rows"]).read_text().splitlines() if line]
    concurrency = int(spec["concurrency"])
    gate = asyncio.Semaphore(concurrency)
    transport = AiohttpTransport(limit=concurrency)
    servers = {name: spec["base_url"] for name in SOURCES}
    statuses: dict[str, int] = {}
    errors: list[str] = []
    executions = 0

    async def one(row: dict[str, Any]) -> None:
        nonlocal executions
        run_id = new_run_id()
        inputs = {"waitSeconds": 10, **row, "externalId": external_id_for(run_id)}
        inputs["token"] = spec["token"]
        async with gate:
            result = await run_async(
                loaded, WORKFLOW_ID, inputs, servers=servers, transport=transport, run_id=run_id
            )
        statuses[result.status] = statuses.get(result.status, 0) + 1
        executions += result.executions
        if result.status != "succeeded" and len(errors) < 3:
            errors.append(str(result.error)[:200])

    start, cpu = time.perf_counter(), time.process_time()
    try:
        await asyncio.gather(*(one(row) for row in rows))
    finally:
        await transport.close()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "statuses": statuses,
        "errors": errors,
        "executions": executions,
    }


async def _child_generate(spec: dict[str, Any]) -> dict[str, Any]:
    """``weft civitai generate --batch`` end to end (``run_batch`` with the Civitai row hooks):
    each row planned on the Site API, submitted, followed, and its images downloaded and
    checked."""
    from weft.batch import BatchOptions, run_batch
    from weft.civitai import SUBMIT_WORKFLOW, bundle_path
    from weft.civitai.batch import civitai_row_hooks
    from weft.civitai.generate import Deployment
    from weft.civitai.planning import GenerationAsk
    from weft.effects.aiohttp_transport import AiohttpTransport
    from weft.effects.clock import SystemClock
    from weft.store import open_store

    _warm_imports()
    concurrency = int(spec["concurrency"])
    where = Deployment(spec["token"], spec["base_url"])
    start, cpu = time.perf_counter(), time.process_time()
    with open_store(spec["store"]) as store:
        hooks = civitai_row_hooks(
            GenerationAsk(model_version=0, prompt=""), where,
            AiohttpTransport(limit=max(concurrency * 2, 10)), SystemClock(), store,
            out_root=Path(spec["out"]),
        )  # fmt: skip
        result = await run_batch(
            bundle_path(), spec["rows"], workflow_id=SUBMIT_WORKFLOW,
            servers=where.servers(), batch=BatchOptions(concurrency=concurrency),
            hooks=hooks, store=store,
        )  # fmt: skip
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    statuses: dict[str, int] = {}
    errors: list[str] = []
    files = 0
    for row in result.rows:
        saved = row.extra.get("files") or []
        ok = row.ok and bool(saved)
        key = "succeeded" if ok else "failed"
        statuses[key] = statuses.get(key, 0) + 1
        files += len(saved)
        if not ok and len(errors) < 3:
            errors.append(str(row.error)[:200])
    return {"seconds": seconds, "cpu": cpu, "statuses": statuses, "errors": errors, "files": files}


_TERMINAL = frozenset({"succeeded", "failed", "expired", "canceled"})


async def _child_plain(spec: dict[str, Any]) -> dict[str, Any]:
    """The wire baseline: a plain aiohttp client making the requests a ``civitai`` run makes
    (resolve the version, submit with ``wait``, long-poll to a terminal status), with the same
    rows, token, idempotency key and concurrency; no engine, no store. Its "steps" count as the
    engine counts a run's (resolve, the nested-workflow step, submit, each poll)."""
    import uuid

    import aiohttp
    import orjson

    rows = [orjson.loads(line) for line in Path(spec["rows"]).read_bytes().splitlines() if line]
    base, concurrency = spec["base_url"], int(spec["concurrency"])
    gate = asyncio.Semaphore(concurrency)
    statuses: dict[str, int] = {}
    errors: list[str] = []
    steps = 0

    async def one(http: aiohttp.ClientSession, row: dict[str, Any]) -> str:
        nonlocal steps
        async with http.get(f"{base}/api/v1/model-versions/{row['modelVersionId']}") as resp:
            version = orjson.loads(await resp.read())
        air = version["air"]
        if resp.status != 200 or not air.startswith(("urn:air:sd1:checkpoint:",
                                                      "urn:air:sdxl:checkpoint:")):  # fmt: skip
            return f"resolve: {resp.status}"
        steps += 2  # resolve, and the nested-workflow step that submits and polls
        body = {
            "externalId": "plain-" + uuid.uuid4().hex,
            "tags": ["weft"],
            "steps": [
                {
                    "$type": "imageGen",
                    "name": "generate",
                    "input": {
                        "engine": "sdcpp",
                        "ecosystem": air.split(":")[2],
                        "operation": "createImage",
                        "model": air,
                        "prompt": row["prompt"],
                        "width": row["width"],
                        "height": row["height"],
                        "steps": 25,
                        "cfgScale": 7,
                        "quantity": row["quantity"],
                        "outputFormat": "png",
                    },
                }
            ],
        }
        async with http.post(
            f"{base}/v2/consumer/workflows?wait=10",
            data=orjson.dumps(body),
            headers={"Content-Type": "application/json"},
        ) as resp:
            workflow = orjson.loads(await resp.read())
        steps += 1
        if resp.status not in (200, 202):
            return f"submit: {resp.status}"
        while True:  # the poll step runs once even when the submit's answer is terminal
            async with http.get(f"{base}/v2/consumer/workflows/{workflow['id']}?wait=10") as resp:
                workflow = orjson.loads(await resp.read())
            steps += 1
            if resp.status != 200:
                return f"poll: {resp.status}"
            if workflow["status"] in _TERMINAL:
                break
        return str(workflow["status"])

    async def run(http: aiohttp.ClientSession, row: dict[str, Any]) -> None:
        async with gate:
            try:
                status = await one(http, row)
            except Exception as exc:  # counted as a failed run, like weft's
                status = f"{type(exc).__name__}: {exc}"
        key = status if status in _TERMINAL else "failed"
        statuses[key] = statuses.get(key, 0) + 1
        if key != "succeeded" and len(errors) < 3:
            errors.append(status[:200])

    start, cpu = time.perf_counter(), time.process_time()
    headers = {"Authorization": f"Bearer {spec['token']}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        await asyncio.gather(*(run(http, row) for row in rows))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "statuses": statuses,
        "errors": errors,
        "executions": steps,
    }


CHILDREN = {
    "seed": _child_seed,
    "civitai": _child_civitai,
    "civitai-generate": _child_generate,
    "plain": _child_plain,
    "civitai-engine": _child_engine,
}


# --------------------------------------------------------------------------- servers


class SimulatorProcess:
    """``weft civitai simulate`` in its own process; its counters and CPU time when stopped."""

    def __init__(self, step_seconds: float, wait_unit: float) -> None:
        self.argv = [
            sys.executable, "-m", "weft", "civitai", "simulate", "--port", "0",
            "--token", SIM_TOKEN, "--balance", str(10**12),
            "--step-seconds", f"{step_seconds:g}", "--wait-unit", f"{wait_unit:g}", "--summary",
        ]  # fmt: skip
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.summary: dict[str, Any] = {}
        self.cpu_seconds = 0.0

    def __enter__(self) -> SimulatorProcess:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("Civitai simulator at "):
            self.stop()
            raise Skip(f"the simulator did not start (got {line!r})")
        self.base_url = line.rsplit(" ", 1)[1]
        return self

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        assert proc.stdout is not None
        rest = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu_seconds = usage.ru_utime + usage.ru_stime
        for line in rest.splitlines():
            if line.startswith("summary: "):
                self.summary = json.loads(line[len("summary: ") :])

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- targets


def _require_engine() -> None:
    try:
        importlib.import_module("weft.api")
        from weft import run_async  # noqa: F401
        from weft.effects.aiohttp_transport import AiohttpTransport  # noqa: F401
    except ImportError as exc:
        raise Skip(f"the engine's library API is not in this build ({exc})") from exc


def _run_child(kind: str, spec: dict[str, Any], timeout: float) -> tuple[dict[str, Any], int]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(spec)]
    m = measure(argv, timeout=timeout, env=dict(os.environ))
    if m.returncode != 0 or m.timed_out:
        tail = (m.stderr.strip() or m.stdout.strip())[-300:]
        raise Skip(
            f"child failed (exit {m.returncode}{', timed out' if m.timed_out else ''}): {tail}"
        )
    return json.loads(m.stdout.strip().splitlines()[-1]), m.max_rss_kb


def _write_rows(path: Path, runs: int) -> None:
    """``runs`` rows over the catalog's SD1 and SDXL checkpoints, 64×64, one image each."""
    from weft.civitai.simulator.samples import checkpoint_rows

    with path.open("w") as f:
        for row in checkpoint_rows(0, runs):
            f.write(json.dumps(row) + "\n")


def _store_executions(path: Path) -> int:
    from weft.store import open_store

    store = open_store(path)
    try:
        total = 0
        for summary in store.list_runs(limit=None):
            run = store.get_run(summary.run_id)
            if run is not None:
                total += int(run.to_result().get("executions") or 0)
        return total
    finally:
        store.close()


def _check_simulator(sim: SimulatorProcess, runs: int) -> str | None:
    """Why the simulator's counters disagree with ``runs`` rows run once each, or None."""
    s = sim.summary
    if not s:
        return "the simulator printed no summary"
    by_ext = s.get("workflowsByExternalId", {})
    twice = sum(1 for ids in by_ext.values() if len(ids) != 1)
    charges = sum(s.get("charges", {}).values())
    if s.get("workflows") != runs or len(by_ext) != runs or twice or charges != runs:
        return (
            f"simulator: {s.get('workflows')} workflows, {len(by_ext)} externalIds "
            f"({twice} with more than one workflow), {charges} charges for {runs} rows"
        )
    return None


def _civitai_once(
    kind: str, runs: int, concurrency: int, args: argparse.Namespace
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="weft-bench-conc-") as tmp:
        rows = Path(tmp) / "rows.jsonl"
        _write_rows(rows, runs)
        store = Path(tmp) / "runs.db"
        with SimulatorProcess(args.step_seconds, args.wait_unit) as sim:
            spec = {
                "rows": str(rows),
                "store": str(store),
                "out": str(Path(tmp) / "out"),
                "token": SIM_TOKEN,
                "base_url": sim.base_url,
                "runs": runs,
                "concurrency": concurrency,
            }
            out, rss = _run_child(kind, spec, args.timeout)
        out["rss_kb"] = rss
        if kind not in ("plain", "civitai-engine"):  # (these two keep no store)
            out["executions"] = _store_executions(store)
        out["sim_cpu"] = sim.cpu_seconds
        out["sim_requests"] = sim.summary.get("requests", 0)
        problem = _check_simulator(sim, runs)
        if problem:
            out["errors"].append(problem)
            out["sim_problem"] = True
    return out


def _seed_once(runs: int, concurrency: int, args: argparse.Namespace) -> dict[str, Any]:
    with SeedServerProcess(polls=args.polls) as server:
        spec = {
            "document": str(peers.SEED_DOC),
            "workflow": peers.WORKFLOW_ID,
            "inputs": peers.INPUTS,
            "servers": peers.server_urls(server.base_url),
            "pace": args.pace,
            "runs": runs,
            "concurrency": concurrency,
        }
        out, rss = _run_child("seed", spec, args.timeout)
    out["rss_kb"] = rss
    return out


def _once(target: str, runs: int, concurrency: int, args: argparse.Namespace) -> dict[str, Any]:
    if target == "seed":
        return _seed_once(runs, concurrency, args)
    return _civitai_once(target, runs, concurrency, args)


def _check_target(target: str) -> None:
    """Raise :class:`Skip` when ``target`` cannot be measured in this build."""
    if target == "plain":
        return
    _require_engine()
    if target == "seed" and not peers.seed_available():
        raise Skip(f"the seed is not available under {peers.SHARED_SEED}")
    if target != "seed":
        try:
            importlib.import_module("weft.batch")
            importlib.import_module("weft.civitai.simulator")
        except ImportError as exc:
            raise Skip(f"weft.batch / weft.civitai.simulator missing ({exc})") from exc


def measure_once(target: str, args: argparse.Namespace) -> dict[str, Any]:
    """One measurement of ``target``: the ``--runs`` batch and a one-run child for the RSS base
    (the plain client's base is one plain run too)."""
    one = _once(target, 1, 1, args)
    many = _once(target, args.runs, args.concurrency, args)
    failed = args.runs - many["statuses"].get("succeeded", 0)
    if many.get("sim_problem"):
        failed = max(failed, 1)
    in_flight = max(min(args.runs, args.concurrency), 1)
    return {
        "seconds": many["seconds"],
        "steps": many["executions"],
        "steps_s": many["executions"] / many["seconds"] if many["seconds"] else 0.0,
        "rss_one": one["rss_kb"],
        "rss_many": many["rss_kb"],
        "kb_run": max(many["rss_kb"] - one["rss_kb"], 0) / in_flight,
        "failed": failed,
        "sim_cpu": many.get("sim_cpu"),
        "cpu": many.get("cpu"),
        "errors": many["errors"],
    }


def summarise(target: str, reps: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """The target's table row: medians over the repeats."""

    def med(key: str) -> float:
        return float(statistics.median(r[key] for r in reps))

    return [
        target,
        str(args.runs),
        str(args.concurrency),
        f"{med('steps'):.0f}",
        f"{med('seconds'):.2f}",
        f"{med('steps_s'):.0f}",
        f"{med('cpu'):.2f}",
        f"{med('rss_one') / 1024:.1f}",
        f"{med('rss_many') / 1024:.1f}",
        f"{med('kb_run'):.1f}",
        str(max(r["failed"] for r in reps)),
    ]


def notes_for(target: str, reps: list[dict[str, Any]]) -> list[str]:
    detail = ", ".join(
        f"{r['steps_s']:.0f} steps/s {r['kb_run']:.1f} KB cpu {r['cpu']:.2f} s" for r in reps
    )
    if target not in ("seed",):
        detail += "; simulator CPU s: " + ", ".join(f"{r['sim_cpu']:.2f}" for r in reps)
    notes = [f"{target}: repeats: {detail}"]
    for r in reps:
        if r["errors"]:
            notes.append(f"{target}: first errors: {r['errors']}")
    return notes


def ratios(measured: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Each Civitai target's steps/s over the plain client's, per repeat (side by side: the
    same repeat, fresh simulators) and their median."""
    plain = measured.get("plain")
    lines = []
    for target in ("civitai-engine", "civitai", "civitai-generate"):
        reps = measured.get(target)
        if not plain or not reps:
            continue
        per = [
            r["steps_s"] / p["steps_s"] for r, p in zip(reps, plain, strict=False) if p["steps_s"]
        ]
        if not per:
            continue
        cpu = [r["cpu"] / p["cpu"] for r, p in zip(reps, plain, strict=False) if p["cpu"]]
        goal = " (target ≥ 0.8)" if target == "civitai" else ""
        lines.append(
            f"ratio to the wire, {target} / plain steps/s: {statistics.median(per):.2f}{goal}"
            f" (repeats {', '.join(f'{x:.2f}' for x in per)}); CPU {target} / plain:"
            f" {statistics.median(cpu):.2f}×"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="measurements per target (median)")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--polls", type=int, default=10, help="seed target: reads before success")
    parser.add_argument("--pace", default="0.02", help="seed target: loop pacing")
    parser.add_argument("--step-seconds", type=float, default=0.05,
                        help="civitai: simulator seconds per running status")  # fmt: skip
    parser.add_argument("--wait-unit", type=float, default=0.02,
                        help="civitai: simulator real seconds per `wait` second")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        kind, spec = args.child
        print(json.dumps(asyncio.run(CHILDREN[kind](json.loads(spec)))))
        return 0

    headers = [
        "target",
        "runs",
        "concurrency",
        "steps",
        "seconds",
        "steps/s",
        "CPU (s)",
        "RSS 1 run (MB)",
        f"RSS {args.runs} (MB)",
        "KB per in-flight run",
        "failed",
    ]
    targets = [t for t in args.targets.split(",") if t]
    for target in targets:
        if target not in TARGETS:
            parser.error(f"unknown target {target!r}")
    skipped: dict[str, str] = {}
    for target in targets:
        try:
            _check_target(target)
        except Skip as exc:
            skipped[target] = str(exc)
    measured: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    for _ in range(args.repeat):  # interleaved: each repeat measures every target once
        for target in targets:
            if target in skipped:
                continue
            try:
                measured[target].append(measure_once(target, args))
            except Skip as exc:
                skipped[target] = str(exc)
    rows: list[list[str]] = []
    notes: list[str] = []
    for target in targets:
        if target in skipped or not measured[target]:
            rows.append([target] + ["—"] * (len(headers) - 1))
            notes.append(f"{target}: skipped ({skipped.get(target, 'not measured')})")
            continue
        rows.append(summarise(target, measured[target], args))
        notes += notes_for(target, measured[target])
    print(f"Concurrent runs in one process — {time.strftime('%Y-%m-%d %H:%M')}, {machine()}")
    print(f"medians of {args.repeat} repeats")
    print(table(headers, rows))
    for line in ratios({t: r for t, r in measured.items() if t not in skipped}):
        print(line)
    for note in notes:
        print(note)
    print(
        "targets: ≥ 0.8 of the plain client's steps/s (civitai, store on), ≤ 50 KB per"
        " in-flight run, 0 failed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
