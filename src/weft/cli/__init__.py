"""The ``weft`` command line.

Subcommands live next to the code they drive and are imported only when invoked, so
``weft --version`` and ``weft validate`` start fast. Register a command by adding one line to
``_COMMANDS``: ``name -> "module:attribute"`` (a click command or group).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from weft import __version__
from weft.errors import WeftError

_COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module:attribute, one-line help shown in `weft --help`)
    "validate": ("weft.document.commands:validate", "Check an Arazzo document and its sources."),
    "lint": ("weft.document.commands:lint", "Report defects in an Arazzo document, with fixes."),
    "run": ("weft.cli.run:run", "Run a workflow of an Arazzo document."),
    "resume": ("weft.cli.run:resume", "Continue a recorded run that stopped."),
    "batch": ("weft.batch.commands:batch", "Run a workflow once per row of an inputs file."),
    "runs": ("weft.store.commands:runs", "List, show and prune recorded runs."),
    "civitai": ("weft.civitai.commands:civitai", "Generate images on Civitai (or its simulator)."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("weft"):
                # the subsystem is not part of this build
                return _unavailable(cmd_name, target[1])
            raise
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _unavailable(name: str, help_text: str) -> click.Command:
    @click.command(name=name, help=help_text)
    def _cmd() -> None:
        raise click.ClickException(f"'weft {name}' is not available in this build")

    return _cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="weft")
def cli() -> None:
    """weft runs OpenAPI Arazzo workflows, and generates images on Civitai."""


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: user errors print one clear message, never a traceback."""
    try:
        return cli.main(args=argv, prog_name="weft", standalone_mode=True)
    except WeftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
