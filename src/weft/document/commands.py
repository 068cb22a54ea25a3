"""The ``weft validate``, ``weft lint`` and ``weft describe`` commands."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, NoReturn

import click

from weft.document.diagnostics import Diagnostic, has_errors, sort_key
from weft.errors import UsageError, WeftError

if TYPE_CHECKING:
    from weft.document.loaded import LoadedDocument


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
_NO_SOURCES = click.option(
    "--no-sources",
    is_flag=True,
    help="Check the document alone: do not read its source descriptions (offline, CI).",
)
_STRICT = click.option(
    "--strict", is_flag=True, help="Refuse compatibility readings (as `weft run --strict`)."
)
_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif"]),
    default=None,
    help="text (default), json, github (workflow commands) or sarif (SARIF 2.1.0).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Same as --format json.")


def _fail(exc: WeftError) -> NoReturn:
    click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


def _load(
    document: str,
    source_pairs: tuple[str, ...] = (),
    *,
    no_sources: bool = False,
    strict: bool = False,
) -> LoadedDocument | list[Diagnostic]:
    """The loaded document, or the one finding saying it is not an Arazzo document."""
    from weft.document.diagnostics import Diagnostic
    from weft.document.loader import NotArazzo, load

    try:
        loaded = load(
            document,
            sources=_source_overrides(source_pairs),
            with_sources=not no_sources,
            strict=strict,
        )
        # The document lives until the command ends: keep the collector from rescanning its
        # millions of objects on every full collection (a large description: 0.5 s -> 0.15 s).
        gc.freeze()
        return loaded
    except NotArazzo as exc:
        message = exc.what + (f": {exc.why}" if exc.why else "")
        return [Diagnostic(exc.rule, "error", message, exc.location, exc.hint)]
    except WeftError as exc:
        _fail(exc)
    except (RecursionError, MemoryError) as exc:
        click.echo(f"error: {document}: cannot read the document ({type(exc).__name__})", err=True)
        sys.exit(2)
    raise AssertionError("unreachable")


def _emit(diagnostics: list[Diagnostic], fmt: str, text: str | None = None) -> None:
    from weft.document.report import render_diagnostics

    replacements = None
    if fmt == "sarif" and text is not None and diagnostics:
        from weft.document.fixing import sarif_replacements

        replacements = sarif_replacements(text, diagnostics[0].location.file)
    out = render_diagnostics(diagnostics, fmt, replacements=replacements)
    if out:
        click.echo(out)


@click.command(name="validate")
@click.argument("document")
@_FORMAT
@_JSON
@_SOURCE_OPTION
@_NO_SOURCES
@_STRICT
def validate(
    document: str,
    fmt: str | None,
    as_json: bool,
    source_pairs: tuple[str, ...],
    no_sources: bool,
    strict: bool,
) -> None:
    """Check an Arazzo DOCUMENT (path or URL) and its source descriptions.

    Prints each finding as ``file:line:col: severity rule: message`` with a fix when known. A
    source that cannot be read is a finding at its ``url``; everything else is still checked.
    Exit status: 0 valid (warnings allowed), 1 invalid, 2 the document could not be read.
    """
    from weft.document.report import summary
    from weft.document.validation import validate as run_validation

    fmt = fmt or ("json" if as_json else "text")
    loaded = _load(document, source_pairs, no_sources=no_sources, strict=strict)
    diagnostics = loaded if isinstance(loaded, list) else run_validation(loaded, strict=strict)
    _emit(diagnostics, fmt)
    if fmt == "text":
        click.echo(summary(document, diagnostics, sources=not no_sources))
    sys.exit(1 if has_errors(diagnostics) else 0)


@click.command(name="lint")
@click.argument("document")
@_FORMAT
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print findings as a JSON list of {rule, severity, message, file, line, column, fix}.",
)
@_SOURCE_OPTION
@_NO_SOURCES
@_STRICT
@click.option(
    "--fix", is_flag=True, help="Apply every fix that is a pure rewrite to the file in place."
)
@click.option("--diff", is_flag=True, help="Print what --fix would change, as a unified diff.")
def lint(
    document: str,
    fmt: str | None,
    as_json: bool,
    source_pairs: tuple[str, ...],
    no_sources: bool,
    strict: bool,
    fix: bool,
    diff: bool,
) -> None:
    """Report defects in an Arazzo DOCUMENT, each with its location and a concrete fix.

    Lint runs validation too. ``--fix`` rewrites the file (comments, key order, quoting and
    layout kept) with the fixes that change no meaning for weft: braces around embedded
    expressions, qualified operationIds, braces in operationPath, RFC 9535 queries for JSONPath
    logical conditions, explicit pacing of self-polling steps. Exit status: 0 when there are
    only warnings or infos, 1 when any finding is an error, 2 when it could not be read.
    """
    fmt = fmt or ("json" if as_json else "text")
    options = {"no_sources": no_sources, "strict": strict}
    loaded = _load(document, source_pairs, **options)
    if isinstance(loaded, list):
        _emit(loaded, fmt)
        sys.exit(1)
    diagnostics = _lint(loaded, strict)
    if fix or diff:
        diagnostics = _fix(document, loaded, diagnostics, diff=diff, fmt=fmt)
        if not diff:
            again = _load(document, source_pairs, **options)
            diagnostics = again if isinstance(again, list) else _lint(again, strict)
    text = None
    if fmt == "sarif" and loaded.parsed is not None:
        from pathlib import Path

        path = Path(loaded.document.uri)
        text = path.read_text() if path.is_file() else None
    if not diff:
        _emit(diagnostics, fmt, text)
    if fmt == "text" and not diff:
        counts = {
            s: sum(d.severity == s for d in diagnostics) for s in ("error", "warning", "info")
        }
        click.echo(
            f"{document}: {counts['error']} error(s), {counts['warning']} warning(s), "
            f"{counts['info']} info"
        )
    sys.exit(1 if has_errors(diagnostics) else 0)


def _lint(loaded: LoadedDocument, strict: bool) -> list[Diagnostic]:
    from weft.document.rules import lint as run_lint
    from weft.document.validation import validate as run_validation

    found = run_validation(loaded, strict=strict) + run_lint(loaded)
    return sorted(set(found), key=sort_key)


def _fix(
    document: str, loaded: LoadedDocument, diagnostics: list[Diagnostic], *, diff: bool, fmt: str
) -> list[Diagnostic]:
    from pathlib import Path

    from weft.document.fixing import fix_text, unified_diff, write_fixed

    path = Path(loaded.document.uri)
    if not path.is_file():
        _fail(UsageError("--fix and --diff work on local files only", where=document))
    original = path.read_bytes()
    import hashlib

    if hashlib.sha256(original).hexdigest() != loaded.document.content_hash:
        _fail(UsageError("the document changed while it was checked; run again", where=document))
    try:
        result = fix_text(original.decode(), diagnostics, str(path))
        if diff:
            click.echo(unified_diff(result, document), nl=False)
            return diagnostics
        if result.changed:
            write_fixed(path, original, result.fixed)
    except WeftError as exc:
        _fail(exc)
    if fmt == "text":
        rules: dict[str, int] = {}
        for d in result.applied:
            rules[d.rule] = rules.get(d.rule, 0) + 1
        done = ", ".join(f"{rule} ×{n}" for rule, n in sorted(rules.items())) or "nothing to fix"
        click.echo(f"{document}: fixed {len(result.applied)} finding(s) ({done})")
    return diagnostics


@click.command(name="describe")
@click.argument("document")
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
@_SOURCE_OPTION
@_NO_SOURCES
def describe(document: str, as_json: bool, source_pairs: tuple[str, ...], no_sources: bool) -> None:
    """Show what DOCUMENT offers: its workflows, their inputs (type, required, default,
    description; secrets marked) and outputs, and each source with the server URL a run would
    use and how to override it (``weft run --server NAME=URL``)."""
    from weft.document.describe import describe as gather
    from weft.document.describe import render_description

    loaded = _load(document, source_pairs, no_sources=no_sources)
    if isinstance(loaded, list):
        _emit(loaded, "text")
        sys.exit(1)
    found = gather(loaded)
    if as_json:
        import json

        click.echo(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_description(found, document))
