"""The ``weft validate`` and ``weft lint`` commands."""

from __future__ import annotations

import sys

import click

from weft.document.diagnostics import Diagnostic, has_errors, sort_key
from weft.errors import UsageError, WeftError


def _source_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in pairs:
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise UsageError(
                f"--source {item!r} is not NAME=URL",
                hint="e.g. --source civitaiSiteApi=./site.openapi.yaml",
            )
        out[name] = url
    return out


_SOURCE_OPTION = click.option(
    "--source",
    "source_pairs",
    multiple=True,
    metavar="NAME=URL",
    help="Read source description NAME from URL (a path or URL) instead of the document's url.",
)


def _load(document: str, source_pairs: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    from weft.document.loader import load

    try:
        return load(document, sources=_source_overrides(source_pairs))
    except WeftError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except (RecursionError, MemoryError) as exc:
        click.echo(f"error: {document}: cannot read the document ({type(exc).__name__})", err=True)
        sys.exit(2)


def _print(diagnostics: list[Diagnostic], as_json: bool) -> None:
    if as_json:
        import json

        click.echo(json.dumps([d.to_dict() for d in diagnostics], indent=2))
        return
    for d in diagnostics:
        click.echo(d.render())


@click.command(name="validate")
@click.argument("document")
@click.option("--json", "as_json", is_flag=True, help="Print diagnostics as a JSON list.")
@_SOURCE_OPTION
def validate(document: str, as_json: bool, source_pairs: tuple[str, ...]) -> None:
    """Check an Arazzo DOCUMENT (path or URL) and its source descriptions.

    Prints each finding as ``file:line:col: severity rule: message`` with a fix when known.
    Exit status: 0 valid, 1 invalid, 2 the document or a source could not be read.
    """
    from weft.document.validation import validate as run_validation

    loaded = _load(document, source_pairs)
    diagnostics = run_validation(loaded)
    _print(diagnostics, as_json)
    errors = sum(d.severity == "error" for d in diagnostics)
    if not as_json:
        if errors:
            click.echo(f"{document}: invalid ({errors} error{'s' if errors != 1 else ''})")
        else:
            click.echo(f"{document}: valid")
    sys.exit(1 if errors else 0)


@click.command(name="lint")
@click.argument("document")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print findings as a JSON list of {rule, severity, message, file, line, column, fix}.",
)
@_SOURCE_OPTION
def lint(document: str, as_json: bool, source_pairs: tuple[str, ...]) -> None:
    """Report defects in an Arazzo DOCUMENT, each with its location and a concrete fix.

    Lint runs validation too. Exit status: 0 when there are only warnings or infos, 1 when
    any finding is an error (the document is invalid), 2 when it could not be read.
    """
    from weft.document.rules import lint as run_lint
    from weft.document.validation import validate as run_validation

    loaded = _load(document, source_pairs)
    diagnostics = sorted(set(run_validation(loaded) + run_lint(loaded)), key=sort_key)
    _print(diagnostics, as_json)
    if not as_json:
        counts = {
            s: sum(d.severity == s for d in diagnostics) for s in ("error", "warning", "info")
        }
        click.echo(
            f"{document}: {counts['error']} error(s), {counts['warning']} warning(s), "
            f"{counts['info']} info"
        )
    sys.exit(1 if has_errors(diagnostics) else 0)
