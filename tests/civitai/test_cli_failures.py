"""`weft civitai generate --api-base URL --token T` against a simulator started in the test:
every failure the issue lists ends with one clear line and the right exit code; a 429 storm
still finishes; the happy path saves the images and charges once."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from weft.civitai.commands import civitai
from weft.civitai.simulator import SimulatorConfig, expected_cost, start_simulator_thread
from weft.civitai.simulator.server import SimulatorThread


@pytest.fixture(autouse=True)
def _store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEFT_STORE", str(tmp_path / "store.db"))


@pytest.fixture
def sim_factory() -> Iterator[Any]:
    started: list[SimulatorThread] = []

    def start(**config: Any) -> SimulatorThread:
        sim = start_simulator_thread(SimulatorConfig.fast(**config))
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def generate(sim: SimulatorThread, *args: str, token: str | None = None) -> Result:
    argv = ["generate", "--api-base", sim.base_url, "--token", token or sim.token, *args]
    return CliRunner().invoke(civitai, argv, env={"CIVITAI_API_TOKEN": None})


def one_error_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_end_to_end_images_cost_and_one_debit(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory()
    out = tmp_path / "imgs"
    result = generate(sim, "--model-version", "1001", "--prompt", "a meadow", "--quantity", "3",
                      "--width", "320", "--height", "448", "--steps", "25", "--out", str(out),
                      "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "succeeded" and summary["simulated"] is False
    assert summary["cost"] == expected_cost("sd1", 320, 448, 25, 3)
    assert len(summary["files"]) == 3
    # every image URL the API returned is in the summary, signed for the simulator's blob store
    assert len(summary["imageUrls"]) == 3
    assert all(url.startswith(sim.base_url) for url in summary["imageUrls"])
    for name in summary["files"]:
        picture = Image.open(io.BytesIO(Path(name).read_bytes()))
        assert (picture.format, picture.size) == ("PNG", (320, 448))
        assert Path(name).parent == out
    assert sim.state.charges_by_account == {"default": 1}
    assert sim.state.account_named("default").balance == 10_000 - summary["cost"]
    assert len(sim.state.workflows) == 1


@pytest.mark.parametrize(
    ("config", "args", "token", "expected"),
    [
        ({}, ["--model-version", "9999"], None,
         "error: model version 9999 was not found (unknown or unpublished)"),
        ({}, ["--model-version", "1002"], "not-a-token",
         "error: the Civitai API refused the token (401) at step submit"),
        ({"balance": 3}, ["--model-version", "1002"], None,
         "error: not enough Buzz for this generation (403) at step submit"),
        ({}, ["--model-version", "1005"], None,
         "error: base model 'Flux.1 D' (ecosystem flux1) is not supported yet"),
        ({}, ["--model-version", "1007"], None,
         "error: the Civitai API rejected the request (400) at step submit"),
        ({"outcome": "failed"}, ["--model-version", "1002"], None,
         "error: the generation failed on Civitai (workflow wf_"),
        ({"outcome": "expired"}, ["--model-version", "1002"], None,
         "error: the generation expired on Civitai (workflow wf_"),
        ({"rate_limit": 1.0, "retry_after": 0.01}, ["--model-version", "1002"], None,
         "error: rate limited (429) at step submit: gave up after 6 attempts"),
    ],
    ids=["unknown-version-404", "bad-token-401", "insufficient-buzz-403", "base-model-flux1",
         "lora-not-a-checkpoint-400", "failed-job", "expired-job", "429-storm-exhausted"],
)  # fmt: skip
def test_each_failure_one_line_and_exit_code(
    sim_factory: Any,
    tmp_path: Path,
    config: dict[str, Any],
    args: list[str],
    token: str | None,
    expected: str,
) -> None:
    sim = sim_factory(**config)
    result = generate(sim, *args, "--prompt", "x", "--out", str(tmp_path), token=token)
    assert result.exit_code == 1, result.output
    line = one_error_line(result)
    assert line.startswith(expected), line
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*.png"))
    if config.get("balance") == 3:
        assert sim.state.account_named("default").balance == 3  # nothing debited
        assert "Insufficient buzz" in line  # what the API said
    if config.get("rate_limit"):
        assert sim.state.rate_limited == 6 and not sim.state.workflows
    if args[1] == "1007":
        assert "steps[0].input.model" in line and "LORA" in line


def test_invalid_size_is_refused_before_any_request(sim_factory: Any, tmp_path: Path) -> None:
    """The real API accepts 64-2048 for sdcpp SD1/SDXL; weft refuses a size outside it before
    sending anything (usage error, exit 2), so nothing can be charged."""
    sim = sim_factory()
    result = generate(sim, "--model-version", "1002", "--prompt", "x", "--width", "4096")
    assert result.exit_code == 2
    assert "4096" in result.output and "64<=x<=2048" in result.output
    assert sim.state.request_log == []


async def test_invalid_size_through_the_library_names_the_field(tmp_path: Path) -> None:
    from weft.civitai.generate import GenerateRequest
    from weft.civitai.generate import generate as run_generate
    from weft.civitai.simulator import run_simulator
    from weft.errors import WeftError

    async with run_simulator(SimulatorConfig.fast()) as sim:
        req = GenerateRequest(model_version=1002, prompt="x", token=sim.token,
                              api_base=sim.base_url, height=8, out=tmp_path)  # fmt: skip
        with pytest.raises(WeftError) as info:
            await run_generate(req)
        assert sim.state.request_log == []
    assert info.value.exit_code == 2
    assert "height" in str(info.value)


def test_429_storm_still_finishes(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(rate_limit=0.5, retry_after=0.01)
    result = generate(sim, "--model-version", "1003", "--prompt", "storm", "--quantity", "2",
                      "--out", str(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sim.state.rate_limited >= 1
    assert "rate limited (429)" in result.stderr  # said in the live progress
    assert len(list(tmp_path.glob("*.png"))) == 2
    assert sim.state.charges_by_account == {"default": 1}
    assert len(sim.state.workflows) == 1
