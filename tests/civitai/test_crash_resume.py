"""The issue-6 proof: ``weft civitai generate`` killed (kill -9) at random moments across 100 runs
against one simulator process, each run resumed (``weft civitai resume``, itself sometimes killed)
until it finishes; then, from the simulator's counters: every run completed, exactly one
orchestration workflow and one charge per run, the Buzz debited equal to the formula, and every
image of every workflow on disk as a valid PNG of the requested size.

Where each kill landed is read from evidence (the run store and the out dir), not from timing.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from weft.civitai.generate import external_id_for
from weft.civitai.simulator import expected_cost
from weft.store import open_store

pytestmark = pytest.mark.slow

JOBS = 100
CONCURRENCY = 6
SEED = 20240606
MAX_KILLS = 3  # per job; the round after the last kill runs to its end
RESUME_KILL_RATE = 0.35  # share of resumes killed too (while kills remain)
TOKEN = "sim_crash_test_token_7b1e"
BALANCE = 10_000_000
STEP_SECONDS = "0.1"  # each of the four running statuses
WAIT_UNIT = "0.02"  # the generate's wait=10 long-poll lasts 0.2 s: a submit, then a poll
MODELS = [(1001, "sd1"), (1002, "sdxl"), (128713, "sd1"), (128078, "sdxl")]
RUN_LINE = re.compile(r"^run ([0-9A-Z]{26})\b", re.M)
ANNOUNCED = re.compile(r"^(resuming )?run [0-9A-Z]{26}\b", re.M)
STARTUP_KILLS = 0.12  # share of kills aimed at the interpreter's start-up, before any run exists


def _weft(*args: str) -> list[str]:
    return [sys.executable, "-m", "weft", *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CIVITAI_API_TOKEN", "WEFT_STORE")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Job:
    number: int
    model_version: int
    ecosystem: str
    size: int
    quantity: int
    out: Path
    run_id: str | None = None
    kills: list[str] = field(default_factory=list)  # the phase each kill landed in
    generates: int = 0
    resumes: int = 0
    summary: dict[str, Any] | None = None
    proc: subprocess.Popen[bytes] | None = None
    stderr: Path | None = None
    started_at: float = 0.0
    line_at: float | None = None  # when the round announced its run (``run …``/``resuming run …``)
    kill: tuple[str, float] | None = None

    def watch(self, now: float) -> None:
        """Notice when the running round announces its run."""
        stderr = self.stderr
        if self.line_at is None and stderr is not None and ANNOUNCED.search(stderr.read_text()):
            self.line_at = now

    def kill_due(self, now: float) -> bool:
        if self.kill is None:
            return False
        anchor, delay = self.kill
        if anchor == "spawn":
            return now >= self.started_at + delay
        return self.line_at is not None and now >= self.line_at + delay

    @property
    def cost(self) -> int:
        return expected_cost(self.ecosystem, self.size, self.size, 20, self.quantity)

    def generate_args(self, base_url: str, store: Path) -> list[str]:
        return _weft(
            "civitai", "generate", "--api-base", base_url, "--token", TOKEN, "--store", str(store),
            "--model-version", str(self.model_version), "--prompt", f"crash test {self.number}",
            "--width", str(self.size), "--height", str(self.size),
            "--quantity", str(self.quantity), "--steps", "20", "--out", str(self.out), "--json",
        )  # fmt: skip


class Simulator:
    """``weft civitai simulate`` as a separate process; its counters arrive when it stops."""

    def __init__(self, tmp: Path) -> None:
        self.proc = subprocess.Popen(
            _weft("civitai", "simulate", "--port", "0", "--token", TOKEN, "--balance",
                  str(BALANCE), "--step-seconds", STEP_SECONDS, "--wait-unit", WAIT_UNIT,
                  "--summary"),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_env(), cwd=tmp,
        )  # fmt: skip
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().decode()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", first)
        assert match, first
        self.base_url = match.group(1)

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        line = next(x for x in out.decode().splitlines() if x.startswith("summary: "))
        return dict(json.loads(line[len("summary: ") :]))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _phase(job: Job, store: Path) -> str:
    """Where the kill landed, as resume sees it: what the store recorded and the out dir holds.

    (The store buffers resend-safe records for up to 0.1 s, so a kill just after a request may
    show the step before it; resume then re-sends that request, which is safe.)"""
    if job.run_id is None:
        return "before the run was recorded"
    with open_store(store) as opened:
        run = opened.get_run(job.run_id)
    if run is None:
        return "before the run was recorded"
    finished = {a.step_key.rsplit("/", 1)[-1] for a in run.attempts}
    pending = run.pending.step_key.rsplit("/", 1)[-1] if run.pending else None
    if run.status == "succeeded":
        saved = len(list(job.out.glob("*.png"))) if job.out.exists() else 0
        return "after finishing, before exit" if saved == job.quantity else "mid-download"
    if "submit" in finished:
        return "after submit (polling)"
    if pending == "submit":
        return "submit sent, no answer recorded"
    return "before submit"


def _start(job: Job, args: list[str], tmp: Path, kill: tuple[str, float] | None) -> None:
    """Start a round; ``kill`` = ("spawn", s): kill -9 s after the process starts (while Python
    starts up), or ("run", s): s after it announced its run on stderr."""
    job.stderr = tmp / f"job{job.number:03d}-{job.generates + job.resumes}.err"
    with job.stderr.open("wb") as err:
        job.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=err, env=_env(), cwd=tmp
        )  # fmt: skip
    job.started_at, job.line_at, job.kill = time.monotonic(), None, kill


def _check_images(job: Job, workflow_images: int) -> None:
    files = sorted(job.out.glob("*.png"))
    assert len(files) == job.quantity == workflow_images, (job.number, files)
    assert not list(job.out.glob("*.part"))
    assert sorted(str(f) for f in files) == sorted(job.summary["files"])  # type: ignore[index]
    for path in files:
        with Image.open(path) as picture:
            picture.verify()
            assert (picture.format, picture.size) == ("PNG", (job.size, job.size))


def test_kill_9_at_random_moments_then_resume_charges_once_and_loses_nothing(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    store = tmp_path / "runs.db"
    sim = Simulator(tmp_path)
    started = time.monotonic()
    try:
        # how long one undisturbed generate takes here, from start and from announcing its run
        # (kills are spread over those spans; they grow with what the machine is doing)
        startup_spans, run_spans = [], []
        for probe in range(2):
            job = Job(-1 - probe, 1001, "sd1", 256, 1, tmp_path / f"probe{probe}")
            _start(job, job.generate_args(sim.base_url, tmp_path / "probe.db"), tmp_path, None)
            assert job.proc is not None
            while job.proc.poll() is None:
                job.watch(time.monotonic())
                time.sleep(0.005)
            end = time.monotonic()
            assert job.proc.returncode == 0 and job.line_at is not None
            startup_spans.append(job.line_at - job.started_at)
            run_spans.append(end - job.line_at)

        def kill_plan() -> tuple[str, float]:
            if rng.random() < STARTUP_KILLS:
                return ("spawn", rng.uniform(0, max(startup_spans)))
            return ("run", rng.uniform(0, sorted(run_spans)[len(run_spans) // 2]))

        jobs = []
        for n in range(JOBS):
            version, ecosystem = MODELS[n % len(MODELS)]
            size = 256 if ecosystem == "sd1" else 512
            out = tmp_path / "out" / f"job{n:03d}"
            jobs.append(Job(n, version, ecosystem, size, rng.randint(1, 3), out))
        waiting, active, done_jobs = list(jobs), [], []
        while waiting or active:
            while waiting and len(active) < CONCURRENCY:
                job = waiting.pop(0)
                job.generates += 1
                _start(job, job.generate_args(sim.base_url, store), tmp_path, kill_plan())
                active.append(job)
            time.sleep(0.005)
            for job in list(active):
                proc = job.proc
                assert proc is not None and job.stderr is not None
                code = proc.poll()
                now = time.monotonic()
                job.watch(now)
                if code is None and job.kill_due(now):
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    assert proc.stdout is not None
                    proc.stdout.close()
                    found = RUN_LINE.search(job.stderr.read_text())
                    if found:
                        job.run_id = found.group(1)
                    phase = _phase(job, store)
                    job.kills.append(phase)
                    kill_next = len(job.kills) < MAX_KILLS
                    if phase == "before the run was recorded":
                        # nothing was sent for that run id: start the job again
                        job.run_id = None
                        job.generates += 1
                        plan = kill_plan() if kill_next else None
                        _start(job, job.generate_args(sim.base_url, store), tmp_path, plan)
                    else:
                        job.resumes += 1
                        killed = kill_next and rng.random() < RESUME_KILL_RATE
                        _start(job, _weft("civitai", "resume", str(job.run_id), "--token", TOKEN,
                                          "--store", str(store), "--json"),
                               tmp_path, kill_plan() if killed else None)  # fmt: skip
                    continue
                if code is None:
                    continue
                assert proc.stdout is not None
                stdout = proc.stdout.read().decode()
                proc.stdout.close()
                assert code == 0, (job.number, job.kills, job.stderr.read_text(), stdout)
                if job.line_at is not None:
                    # an undisturbed round: how long it ran after announcing its run
                    run_spans.append(now - job.line_at)
                job.summary = json.loads(stdout)
                job.run_id = job.summary["runId"]
                active.remove(job)
                done_jobs.append(job)
    finally:
        for job in jobs if "jobs" in locals() else []:
            if job.proc is not None and job.proc.poll() is None:
                job.proc.kill()
                job.proc.wait()
        try:
            counters = sim.stop()
        finally:
            sim.kill()
    elapsed = time.monotonic() - started

    # every run completed
    assert len(done_jobs) == JOBS
    assert all(j.summary and j.summary["status"] == "succeeded" for j in jobs)
    # exactly one orchestration workflow per run: its externalId derives from its run id
    probes = 2
    assert counters["workflows"] == JOBS + probes
    by_external_id = counters["workflowsByExternalId"]
    for job in jobs:
        workflows = by_external_id[external_id_for(str(job.run_id))]
        assert workflows == [job.summary["workflowId"]], job.number  # type: ignore[index]
        assert job.summary["cost"] == job.cost  # type: ignore[index]
        _check_images(job, counters["imagesByWorkflow"][workflows[0]])
    assert all(len(ids) == 1 for ids in by_external_id.values())
    # one charge per run, and the Buzz debited is the formula's total
    assert counters["charges"] == {"default": JOBS + probes}
    probe_cost = probes * expected_cost("sd1", 256, 256, 20, 1)
    assert BALANCE - counters["balances"]["default"] == sum(j.cost for j in jobs) + probe_cost
    # the kills were spread over the run, and some resumes re-sent a submit (counted, not charged)
    phases = Counter(p for j in jobs for p in j.kills)
    resubmitted = sum(1 for n in counters["submissionsByExternalId"].values() if n > 1)
    assert sum(phases.values()) >= JOBS // 2, phases
    assert {"before submit", "after submit (polling)", "mid-download"} <= set(phases), phases
    print(
        f"\ncrash test: {JOBS} runs, {sum(phases.values())} kills {dict(phases)}, "
        f"{sum(j.generates for j in jobs)} generates, {sum(j.resumes for j in jobs)} resumes, "
        f"{counters['workflows'] - probes} workflows, {counters['charges']['default'] - probes} "
        f"charges, {resubmitted} externalIds submitted more than once, "
        f"one generate alone: start-up {startup_spans[0]:.2f} s + run {run_spans[0]:.2f} s; "
        f"total {elapsed:.1f} s"
    )
