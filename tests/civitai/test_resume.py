"""`weft civitai resume`: missing images are downloaded again (fresh URLs when the old ones are
refused) without a second submit or charge; clear refusals; `weft resume` points civitai runs to
it; no token anywhere in the store or the outputs; the README's command works as written."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from weft.civitai.commands import civitai
from weft.civitai.simulator import SimulatorConfig, start_simulator_thread
from weft.civitai.simulator.blobs import Signer
from weft.civitai.simulator.server import SimulatorThread
from weft.cli.run import resume as weft_resume
from weft.testing.store_contents import store_contents

TOKEN = "sim_tok_3f9c2d7e41b8a6055e1d"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    handle = start_simulator_thread(SimulatorConfig.fast(token=TOKEN))
    yield handle
    handle.stop()


def _cli(*argv: str) -> Result:
    return CliRunner().invoke(civitai, list(argv), env={"CIVITAI_API_TOKEN": None})


def _generate(sim: SimulatorThread, store: Path, out: Path, *args: str) -> dict[str, object]:
    result = _cli("generate", "--api-base", sim.base_url, "--token", TOKEN, "--store", str(store),
                  "--model-version", "1001", "--prompt", "a lighthouse", "--width", "256",
                  "--height", "256", "--out", str(out), "--json", *args)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert re.search(r"^run (\w+) \(resume with: weft resume \1\)$", result.stderr, re.M)
    return dict(json.loads(result.stdout))


def _blob_fetches(sim: SimulatorThread) -> int:
    return sum(1 for e in sim.state.request_log if "/blobs/content/" in e.path)


def _valid_png(path: Path, size: tuple[int, int]) -> bool:
    try:
        picture = Image.open(io.BytesIO(path.read_bytes()))
        picture.verify()
    except Exception:
        return False
    return (picture.format, picture.size) == ("PNG", size)


def test_resume_downloads_only_missing_images_with_fresh_urls(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    store, out = tmp_path / "runs.db", tmp_path / "out"
    first = _generate(sim, store, out, "--quantity", "3")
    files = [Path(str(f)) for f in first["files"]]  # type: ignore[attr-defined]
    assert len(files) == 3 and all(_valid_png(f, (256, 256)) for f in files)
    # nothing missing: resume prints the same summary and fetches nothing
    fetched = _blob_fetches(sim)
    again = _cli("resume", str(first["runId"]), "--token", TOKEN, "--store", str(store), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == first
    assert _blob_fetches(sim) == fetched
    # one image lost, one cut short by a crash; the stored URLs no longer verify (re-keyed)
    files[0].unlink()
    files[1].write_bytes(files[1].read_bytes()[:100])
    sim.state.signer = Signer()
    result = _cli("resume", str(first["runId"]), "--token", TOKEN, "--store", str(store))
    assert result.exit_code == 0, result.output
    assert f"workflow:  {first['workflowId']} (succeeded)" in result.stdout
    assert all(_valid_png(f, (256, 256)) for f in files)
    assert sorted(out.glob("*.png")) == sorted(files)
    assert sorted(out.glob("*.json")) == sorted(f.with_suffix(".json") for f in files)
    # the refused URL, then the two missing images at fresh URLs; one workflow, one charge
    assert _blob_fetches(sim) == fetched + 3
    assert sim.state.workflows_created == 1
    assert sim.state.charges_by_account == {"default": 1}
    assert sum(sim.state.submissions_by_external_id.values()) == 1


def test_refusals_are_clear(sim: SimulatorThread, tmp_path: Path) -> None:
    store, out = tmp_path / "runs.db", tmp_path / "out"
    run_id = str(_generate(sim, store, out)["runId"])
    # `weft resume` finishes a civitai run too (images and all): with the token again
    plain = CliRunner().invoke(
        weft_resume, [run_id, "--store", str(store)], env={"CIVITAI_API_TOKEN": None}
    )
    assert plain.exit_code == 2 and "needs the Civitai token again" in plain.stderr
    done = CliRunner().invoke(
        weft_resume, [run_id, "--store", str(store), "-i", f"token={TOKEN}", "--json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["runId"] == run_id
    # the token is needed again: it is never stored
    no_token = _cli("resume", run_id, "--store", str(store))
    assert no_token.exit_code == 2
    assert "needs the Civitai token again" in no_token.stderr
    unknown = _cli("resume", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--token", TOKEN, "--store", str(store))
    assert unknown.exit_code == 2 and "no run 01ARZ3NDEKTSV4RRFFQ69G5FAV" in unknown.stderr
    # a run on the embedded simulator cannot come back: that simulator ended with its process
    embedded = CliRunner().invoke(
        civitai,
        ["generate", "--store", str(store), "--model-version", "1001", "--prompt", "x",
         "--width", "128", "--height", "128", "--out", str(tmp_path / "e"), "--json"],
        env={"CIVITAI_API_TOKEN": None},
    )  # fmt: skip
    assert embedded.exit_code == 0, embedded.output
    gone = _cli("resume", json.loads(embedded.stdout)["runId"], "--token", TOKEN, "--store",
                str(store))  # fmt: skip
    assert gone.exit_code == 2 and "embedded simulator" in gone.stderr


def _weft(*args: str) -> list[str]:
    return [sys.executable, "-m", "weft", *args]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CIVITAI_API_TOKEN", "WEFT_STORE")}
    return {**env, **extra}


def _store_bytes(store: Path) -> bytes:
    return store_contents(store)


def test_no_token_in_the_store_or_outputs_even_after_a_kill(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    store, out, err = tmp_path / "runs.db", tmp_path / "out", tmp_path / "gen.err"
    secret = TOKEN.encode()
    with err.open("wb") as stderr:
        proc = subprocess.Popen(
            _weft("civitai", "generate", "--api-base", sim.base_url, "--token", TOKEN,
                  "--store", str(store), "--model-version", "1002", "--prompt", "x",
                  "--quantity", "2", "--width", "512", "--height", "512", "--out", str(out)),
            stdout=subprocess.DEVNULL, stderr=stderr, env=_env(), cwd=tmp_path,
        )  # fmt: skip
    # kill -9 once it has submitted (the run is mid-way; the WAL has not been checkpointed)
    while not sim.state.submissions_by_external_id and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_id = re.search(r"^run (\w+)", err.read_text(), re.M).group(1)  # type: ignore[union-attr]
    assert store.exists() and secret not in _store_bytes(store)
    resumed = subprocess.run(
        _weft("civitai", "resume", run_id, "--store", str(store), "--json"),
        capture_output=True, env=_env(CIVITAI_API_TOKEN=TOKEN), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()
    shown = subprocess.run(
        _weft("runs", "show", run_id, "--json", "--store", str(store)),
        capture_output=True, env=_env(), cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0 and json.loads(shown.stdout)["status"] == "succeeded"
    assert len(json.loads(resumed.stdout)["files"]) == 2
    assert sim.state.charges_by_account == {"default": 1}
    assert secret not in _store_bytes(store)
    assert secret not in resumed.stdout + resumed.stderr + shown.stdout + err.read_bytes()
    assert all(secret not in f.read_bytes() for f in out.iterdir())


def test_readme_command_works_on_the_embedded_simulator(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```\w*\n(.*?)```", readme, re.S)
    assert block is not None
    command = next(
        part.strip()
        for line in block.group(1).splitlines()
        for part in line.split("&&")
        if part.strip().startswith("weft civitai generate")
    )
    argv = shlex.split(command)
    assert argv[:3] == ["weft", "civitai", "generate"] and "--model-version" in argv
    done = subprocess.run(
        _weft(*argv[1:]), capture_output=True, cwd=tmp_path, timeout=120,
        env=_env(WEFT_STORE=str(tmp_path / "runs.db")),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert "using weft's embedded simulator" in done.stderr.decode()
    saved = list((tmp_path / "weft-out").glob("wf_*/*.png"))
    assert len(saved) == 1 and _valid_png(saved[0], (512, 512))  # SD 1.5: 512 by default
    assert f"saved:     {saved[0].relative_to(tmp_path)}" in done.stdout.decode()
