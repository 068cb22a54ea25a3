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
