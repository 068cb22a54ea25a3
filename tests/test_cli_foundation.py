from __future__ import annotations

from click.testing import CliRunner

from weft import __version__
from weft.cli import cli


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("validate", "lint", "run", "civitai"):
        assert name in result.output


def test_ci_runs_the_readme_test_command_exactly() -> None:
    """The README's first block: install + the main job, then the test command; `.ci/run` ends
    by running that same test command."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    block = re.search(r"```\w*\n(.*?)```", (repo / "README.md").read_text(), re.S)
    assert block is not None
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2 and "pip install -e" in lines[0] and "weft civitai generate" in lines[0]
    ci = [
        line.strip()
        for line in (repo / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert ci[-1] == lines[1] == "python -m pytest"
