"""Compare Arazzo runners on the seed-shaped polling loop: wall time, per-step cost, peak RSS.

    python bench/compare_runners.py [--sizes 8,2008] [--repeat 5] [--runners baseline,weft,...]

For each size N (steps = 1 resolve + 1 submit + (N-3) polls + 1 read) one local
``weft.testing.seed_server`` process answers every runner (TCP_NODELAY, 127.0.0.1 only). Each
runner runs as its own subprocess, R times, interleaved; the best wall time and the median peak RSS
are reported. Per-step cost is
``(t(N_max) - t(N_min)) / (N_max - N_min)``, so start-up cancels out; overhead is per-step cost
minus the plain aiohttp baseline's (the server's and the network's share).

Runners: ``baseline`` (bench/baseline_seed_loop.py), ``weft`` (``weft run`` on the seed,
unchanged, with ``--server`` overrides and pacing off), ``jentic`` (``arazzo-runner``) and
``respect`` (``redocly respect``), the last two installed on first use into bench/.envs and fed a
rewrite of the seed they can execute (see bench/peers.py). A runner that cannot run here prints
its reason in its row instead of failing the bench. The seed is read from ../shared at run time;
without it the peer and weft rows are skipped with that reason.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
from harness import (
    BENCH,
    RESULTS,
    Measurement,
    SeedServerProcess,
    Summary,
    machine,
    measure,
    table,
)

RUNNERS = ("baseline", "weft", "weft-store", "jentic", "respect")
WEFT_ROWS = ("weft", "weft-store")
TARGETS = {"jentic": 10.0, "respect": 100.0}  # weft's overhead must be this many times smaller

Builder = Callable[[Path, str, int], peers.Invocation]


# --------------------------------------------------------------------------- invocations


def baseline_invocation(work: Path, base_url: str, steps: int) -> peers.Invocation:
    script = BENCH / "baseline_seed_loop.py"
    return peers.Invocation([sys.executable, str(script), base_url], dict(os.environ), BENCH)


def _weft_command() -> list[str]:
    exe = Path(sys.executable).parent / "weft"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "weft"]


def weft_invocation(
    work: Path, base_url: str, steps: int, *, store: bool = False
) -> peers.Invocation:
    """``weft run`` on the seed, unchanged; ``store`` records the run (a fresh SQLite file)."""
    if not peers.seed_available():
        raise peers.Unavailable(f"the seed is not available under {peers.SHARED_SEED}")
    cmd = _weft_command()
    try:
        help_text = subprocess.run(
            [*cmd, "run", "--help"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise peers.Unavailable(f"`weft run --help` failed: {exc}") from exc
    if "--server" not in help_text or "--json" not in help_text:
        raise peers.Unavailable("`weft run` is not in this build yet (no --server/--json)")
    argv = [*cmd, "run", str(peers.SEED_DOC), "-w", peers.WORKFLOW_ID, "--json"]
    for source, url in peers.server_urls(base_url).items():
        argv += ["--server", f"{source}={url}"]
    for name, value in peers.INPUTS.items():
        argv += ["-i", f"{name}={value}"]
    if "--pace" in help_text:
        argv += ["--pace", "off"]
    elif "--no-pace" in help_text:
        argv.append("--no-pace")
    else:
        raise peers.Unavailable("`weft run` has no option to turn loop pacing off (--pace)")
    if "--max-steps" in help_text:
        argv += ["--max-steps", str(steps + 100)]
    elif steps > 1000:
        raise peers.Unavailable("`weft run` has no --max-steps (default bound is 1000 steps)")
    env = dict(os.environ)
    if store:
        if "--store" not in help_text:
            raise peers.Unavailable("`weft run` has no --store option")
        argv += ["--store", str(work / f"weft-store-{steps}.sqlite")]
    elif "--no-store" in help_text:
        argv.append("--no-store")
    else:
        env["WEFT_STORE"] = str(work / f"weft-store-{steps}.sqlite")
    return peers.Invocation(argv, env, work)


def weft_store_invocation(work: Path, base_url: str, steps: int) -> peers.Invocation:
    return weft_invocation(work, base_url, steps, store=True)


def jentic_invocation(work: Path, base_url: str, steps: int) -> peers.Invocation:
    inv = peers.jentic_invocation(work, base_url)
    # its own credential lookup (`arazzo-runner show-env-mappings`); silences a warning per step
    inv.env["CIVITAI_BEARERAUTH_TOKEN"] = str(peers.INPUTS["apiKey"])
    return inv


def respect_invocation(work: Path, base_url: str, steps: int) -> peers.Invocation:
    return peers.respect_invocation(work, base_url, max_steps=steps + 100)


BUILDERS: dict[str, Builder] = {
    "baseline": baseline_invocation,
    "weft": weft_invocation,
    "weft-store": weft_store_invocation,
    "jentic": jentic_invocation,
    "respect": respect_invocation,
}


# --------------------------------------------------------------------------- checks


def check_run(runner: str, m: Measurement, stats: dict[str, object], steps: int) -> str | None:
    """Why this run does not count (or None): it must succeed and make exactly N requests."""
    if m.timed_out:
        return "timed out"
    if m.returncode != 0:
        tail = (m.stderr.strip() or m.stdout.strip())[-300:]
        return f"exit {m.returncode}: {tail}"
    counts = stats.get("requests", {})
    total = counts.get("total", 0) if isinstance(counts, dict) else 0
    if total != steps:
        return f"made {total} requests, expected {steps}"
    if runner in WEFT_ROWS:
        try:
            result = json.loads(m.stdout)
        except ValueError:
            return "no JSON result on stdout"
        if result.get("status") != "succeeded" or not result.get("outputs", {}).get(
            "outputBlobUrl"
        ):
            return f"result {result.get('status')!r}, outputs {result.get('outputs')!r}"
    if runner == "jentic" and "outputBlobUrl': 'http" not in m.stdout:
        return "workflow outputs missing outputBlobUrl"
    if runner == "respect" and "Workflows: 1 passed" not in m.stdout:
        return "respect did not report the workflow as passed"
    return None


# --------------------------------------------------------------------------- main


def run(sizes: list[int], repeat: int, runners: list[str], timeout: float) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="compare-", dir=_work_root()))
    results: dict[str, dict[int, Summary]] = {r: {} for r in runners}
    unavailable: dict[str, str] = {}
    try:
        for steps in sizes:
            with SeedServerProcess(polls=steps - 4) as server:
                stats = server.stats()
                if stats.get("tcp_nodelay") is not True:
                    print("  warning: seed server connection without TCP_NODELAY", file=sys.stderr)
                invocations: dict[str, peers.Invocation] = {}
                for runner in runners:
                    if runner in unavailable:
                        continue
                    try:
                        invocations[runner] = BUILDERS[runner](work, server.base_url, steps)
                    except peers.Unavailable as exc:
                        unavailable[runner] = str(exc)
                for rep in range(repeat):
                    for runner, inv in invocations.items():
                        summary = results[runner].setdefault(steps, Summary())
                        if summary.error:
                            continue
                        server.reset()
                        m = measure(inv.argv, env=inv.env, cwd=inv.cwd, timeout=timeout)
                        problem = check_run(runner, m, server.stats(), steps)
                        if problem:
                            summary.error = problem
                            continue
                        summary.walls.append(m.wall_s)
                        summary.rss_kb.append(m.max_rss_kb)
                        print(
                            f"  {runner:<8} {steps:>5} steps  rep {rep + 1}/{repeat}: "
                            f"{m.wall_s * 1000:9.1f} ms  {m.max_rss_kb / 1024:7.1f} MB",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report(sizes, runners, results, unavailable)


def _work_root() -> Path:
    root = BENCH / ".envs" / "work"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _per_step(summaries: dict[int, Summary], lo: int, hi: int) -> float | None:
    a, b = summaries.get(lo), summaries.get(hi)
    if a is None or b is None or a.error or b.error or not a.walls or not b.walls:
        return None
    return (b.wall - a.wall) / (hi - lo)


def report(
    sizes: list[int],
    runners: list[str],
    results: dict[str, dict[int, Summary]],
    unavailable: dict[str, str],
) -> dict[str, object]:
    lo, hi = min(sizes), max(sizes)
    baseline_step = _per_step(results.get("baseline", {}), lo, hi) if lo != hi else None
    rows: list[list[str]] = []
    data: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "sizes": sizes,
        "runners": {},
    }
    overheads: dict[str, float] = {}
    notes: list[str] = []
    for runner in runners:
        version = _version(runner)
        label = f"{runner} {version}".strip()
        if runner in unavailable:
            rows.append([label] + ["—"] * 7)
            notes.append(f"{runner}: not available ({unavailable[runner]})")
            data["runners"][runner] = {"unavailable": unavailable[runner]}  # type: ignore[index]
            continue
        summaries = results[runner]
        errors = [f"{n}: {s.error}" for n, s in summaries.items() if s.error]
        if errors:
            rows.append([label] + ["failed"] * 7)
            notes.append(f"{runner}: failed ({'; '.join(errors)})")
            data["runners"][runner] = {"failed": errors}  # type: ignore[index]
            continue
        step = _per_step(summaries, lo, hi) if lo != hi else None
        overhead = step - baseline_step if step is not None and baseline_step is not None else None
        if overhead is not None and runner != "baseline":
            overheads[runner] = overhead
        rss_lo, rss_hi = summaries[lo].rss_mb, summaries[hi].rss_mb
        rows.append(
            [
                label,
                f"{summaries[lo].wall * 1000:.0f}",
                f"{summaries[hi].wall * 1000:.0f}",
                "" if step is None else f"{step * 1000:.3f}",
                "" if overhead is None or runner == "baseline" else f"{overhead * 1000:.3f}",
                f"{rss_lo:.1f}",
                f"{rss_hi:.1f}",
                f"{rss_hi / rss_lo:.2f}",
            ]
        )
        data["runners"][runner] = {  # type: ignore[index]
            "version": version,
            "wall_ms": {n: s.wall * 1000 for n, s in summaries.items()},
            "rss_mb": {n: s.rss_mb for n, s in summaries.items()},
            "per_step_ms": None if step is None else step * 1000,
            "overhead_per_step_ms": None if overhead is None else overhead * 1000,
        }
    headers = [
        "runner",
        f"wall {lo} (ms)",
        f"wall {hi} (ms)",
        "per step (ms)",
        "overhead/step (ms)",
        f"RSS {lo} (MB)",
        f"RSS {hi} (MB)",
        f"RSS {hi}/{lo}",
    ]
    print()
    print(f"Seed-shaped polling loop, {lo} vs {hi} steps — {data['date']}, {data['machine']}")
    print(table(headers, rows))
    print()
    print("overhead/step = per-step cost minus the plain aiohttp baseline's per-step cost")
    for note in notes:
        print(note)
    data["notes"] = notes
    ratio_rows = _ratio_rows(overheads, unavailable)
    if ratio_rows:
        print()
        print(table(["overhead/step", "ratio", "target", "met"], ratio_rows))
    data["ratios"] = ratio_rows
    return data


def _ratio_rows(overheads: dict[str, float], unavailable: dict[str, str]) -> list[list[str]]:
    rows = []
    for row in WEFT_ROWS:
        weft = overheads.get(row)
        for peer, target in TARGETS.items():
            other = overheads.get(peer)
            label = f"{row} vs {peer}"
            if weft is None or other is None or other <= 0:
                why = unavailable.get(row) or unavailable.get(peer) or "not measured"
                rows.append([label, "n/a", f"≤ 1/{target:.0f}", why[:60]])
                continue
            ratio = max(weft, 0.0) / other
            met = "yes" if ratio <= 1 / target else "NO"
            shown = (
                "~0"
                if ratio <= 0
                else f"1/{1 / ratio:.1f}"
                if ratio > 0.01
                else f"1/{1 / ratio:.0f}"
            )
            rows.append([label, shown, f"≤ 1/{target:.0f}", met])
    return rows


def _version(runner: str) -> str:
    if runner in ("jentic", "respect"):
        return peers.installed_version(runner)
    if runner in WEFT_ROWS:
        try:
            import weft

            return str(weft.__version__)
        except ImportError:
            return ""
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="8,2008", help="step counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs per runner and size")
    parser.add_argument("--runners", default=",".join(RUNNERS), help="which runners, in order")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--json", type=Path, default=RESULTS / "compare_runners.json")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if min(sizes) < 4:
        parser.error("each size must be at least 4 steps (resolve, submit, poll, read)")
    runners = [r for r in args.runners.split(",") if r]
    unknown = set(runners) - set(RUNNERS)
    if unknown:
        parser.error(f"unknown runners: {', '.join(sorted(unknown))}")
    data = run(sizes, max(1, args.repeat), runners, args.timeout)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
