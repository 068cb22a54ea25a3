"""Shared pieces of the Civitai tests: a simulator per test, the CLI, what the simulator got."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from PIL import Image

from weft.civitai.commands import civitai
from weft.civitai.simulator.server import SimulatorThread


def cli(*argv: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(civitai, list(argv), env={"CIVITAI_API_TOKEN": None, **(env or {})})


def generate(sim: SimulatorThread, *args: str, token: str | None = None) -> Result:
    return cli("generate", "--api-base", sim.base_url, "--token", token or sim.token, *args)


def one_error_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def real_submissions(sim: SimulatorThread) -> list[Any]:
    """The submits that asked for a real run (previews left out)."""
    return [s for s in sim.state.submissions if not s.whatif]


def submitted_input(sim: SimulatorThread) -> dict[str, Any]:
    """The imageGen input of the one real submit the simulator received (the exact JSON)."""
    [submission] = real_submissions(sim)
    step = submission.json["steps"][0]
    assert step["$type"] == "imageGen"
    return dict(step["input"])


def png_size(path: Path) -> tuple[int, int]:
    picture = Image.open(io.BytesIO(path.read_bytes()))
    assert picture.format == "PNG"
    return picture.size


def png_parameters(path: Path) -> str:
    with Image.open(path) as picture:
        return str(picture.info.get("parameters", ""))
