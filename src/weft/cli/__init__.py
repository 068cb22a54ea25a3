"""The ``weft`` command line.

Subcommands live next to the code they drive and are imported only when invoked, so
``weft --version`` and ``weft validate`` start fast (click itself is imported by
:mod:`weft.cli.app` only when a command runs). Register a command by adding one line to
``_COMMANDS``: ``name -> "module:attribute"`` (a click command or group).
"""

from __future__ import annotations

import sys

from weft import __version__
from weft.errors import WeftError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `weft --version` must not import typing
if TYPE_CHECKING:
    from typing import Any

_COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module:attribute, one-line help shown in `weft --help`)
    "validate": ("weft.document.commands:validate", "Check an Arazzo document and its sources."),
    "lint": ("weft.document.commands:lint", "Report defects in an Arazzo document, with fixes."),
    "describe": (
        "weft.document.commands:describe",
        "Show workflows, inputs and servers.",
    ),
    "run": ("weft.cli.run:run", "Run a workflow of an Arazzo document."),
    "resume": ("weft.cli.run:resume", "Continue a recorded run that stopped."),
    "batch": ("weft.batch.commands:batch", "Run a workflow once per row of an inputs file."),
    "auth": ("weft.cli.auth:auth", "Show the credentials a document's sources need."),
    "runs": ("weft.store.commands:runs", "List, show and prune recorded runs."),
    "civitai": ("weft.civitai.commands:civitai", "Generate images on Civitai (or its simulator)."),
    "ui": ("weft.ui.commands:ui", "Browse recorded runs in a local web page (read-only)."),
}


EXIT_INTERNAL = 70  # EX_SOFTWARE: a defect of weft, not of the input


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: user errors print one clear message, never a traceback; a defect
    of weft prints one line saying so (``WEFT_DEBUG=1`` shows the traceback).

    ``weft --version`` is answered before click is imported (a cold start close to the
    interpreter's own).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        sys.stdout.write(f"weft, version {__version__}\n")
        return 0
    from weft.cli.app import cli

    try:
        return cli.main(args=args, prog_name="weft", standalone_mode=True)
    except WeftError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(exc.exit_code)
    except (RecursionError, MemoryError) as exc:
        sys.stderr.write(
            f"error: the input is too deep or too large to handle ({type(exc).__name__})\n"
        )
        sys.exit(2)
    except Exception as exc:
        import os

        if os.environ.get("WEFT_DEBUG"):
            raise
        sys.stderr.write(
            f"weft: internal error ({type(exc).__name__}); this is a defect of weft, please "
            "report it (WEFT_DEBUG=1 shows the traceback)\n"
        )
        sys.exit(EXIT_INTERNAL)


def __getattr__(name: str) -> Any:
    """``weft.cli.cli`` (the click group) for tests and embedding, imported on first use."""
    if name in ("cli", "LazyGroup"):
        from weft.cli import app

        return getattr(app, name)
    raise AttributeError(f"module 'weft.cli' has no attribute {name!r}")


if __name__ == "__main__":  # pragma: no cover
    main()
