"""The report options of ``weft run`` and ``weft batch``: ``--report FILE`` (one
self-contained HTML file), ``--junit FILE`` (JUnit XML) and, on ``run``, ``--har FILE``
(every exchange, HAR 1.2). ``@report_options()`` adds them and hands the command one
:class:`~weft.reports.ReportFiles` (argument ``reports``), checked before anything runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    from weft.reports.files import ReportFiles as ReportFiles  # the argument commands get

F = TypeVar("F", bound=Callable[..., Any])


def report_options(*, har: bool = True) -> Callable[[F], F]:
    """Add ``--report``, ``--junit`` (and ``--har``) to a click command."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from weft.reports.files import ReportFiles

            kwargs["reports"] = ReportFiles.build(
                html=kwargs.pop("report_path"),
                junit=kwargs.pop("junit_path"),
                har=kwargs.pop("har_path", None),
            )
            return command(*args, **kwargs)

        options = [
            click.option("--report", "report_path", metavar="FILE",
                         help="Write a self-contained HTML report (timeline, outputs, images)."),
            click.option("--junit", "junit_path", metavar="FILE",
                         help="Write JUnit XML (a test case per run and per step) for CI."),
        ]  # fmt: skip
        if har:
            har_help = "Write every HTTP exchange as HAR 1.2 (secrets masked)."
            options.append(click.option("--har", "har_path", metavar="FILE", help=har_help))
        decorated: Any = wrapper
        for option in reversed(options):
            decorated = option(decorated)
        return cast(F, decorated)

    return decorate


def write_reports(write: Callable[[], list[Any]]) -> None:
    """Call ``write`` (a :class:`ReportFiles` writer) after a run: a file that cannot be
    written is one ``error:`` line on stderr (the run's own outcome still decides the exit
    code and is still printed)."""
    from weft.errors import WeftError

    try:
        write()
    except WeftError as exc:
        click.echo(f"error: {exc}", err=True)


__all__ = ["report_options", "write_reports"]
