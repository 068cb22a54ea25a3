"""``weft runs``: list, show and prune recorded runs."""

from __future__ import annotations

import re
import sys
import time
from typing import Any

import click
import orjson

from weft.errors import UsageError
from weft.store.records import RUN_STATUSES, TERMINAL_STATUSES, RunSummary
from weft.store.scope import store_scope

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)

STORE_HELP = (
    "Run store: a SQLite file or a postgresql:// URL (default: $WEFT_STORE, else the per-user "
    "file)."
)

# the one --store option of every command that reads or records runs
store_option = click.option(
    "--store", "store_path", metavar="PATH|URL", default=None, help=STORE_HELP
)


def parse_duration(text: str) -> float:
    """``30m``, ``12h``, ``7d``, ``2w``, ``45s`` (or plain seconds) → seconds."""
    stripped = text.strip()
    try:
        value = float(stripped)
    except ValueError:
        match = _DURATION.match(stripped)
        if not match:
            raise UsageError(
                f"cannot read the duration {text!r}",
                why="expected a number followed by s, m, h, d or w",
                hint="write e.g. --older-than 30m, 12h or 7d",
            ) from None
        value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if value < 0:
        raise UsageError(f"the duration {text!r} is negative", hint="use e.g. 7d")
    return value


def _json_out(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _labels(summary: RunSummary) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(summary.labels.items()))


def format_duration(seconds: float | None) -> str:
    """``0.27s``, ``12.3s``, ``4m05s``, ``2h03m``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes}m{rest:02d}s"
    hours, rest = divmod(int(seconds) // 60, 60)
    return f"{hours}h{rest:02d}m"


def format_cost(cost: float | None) -> str:
    return "-" if cost is None else f"{cost:g}"


LIST_HEADER = ("RUN ID", "WORKFLOW", "STATUS", "STARTED", "DURATION", "COST", "LABELS")


def list_rows(found: list[RunSummary]) -> list[tuple[str, ...]]:
    """The table ``weft runs list`` prints: a header row, then one row per run."""
    rows: list[tuple[str, ...]] = [LIST_HEADER]
    for s in found:
        rows.append(
            (
                s.run_id,
                s.workflow_id,
                s.status,
                _when(s.created_at),
                format_duration(s.duration),
                format_cost(s.cost),
                _labels(s),
            )
        )
    return rows


def _check_statuses(statuses: tuple[str, ...]) -> None:
    for status in statuses:
        if status not in RUN_STATUSES:
            raise UsageError(
                f"unknown run status {status!r}",
                where="--status",
                why=f"a run's status is one of {', '.join(RUN_STATUSES)}",
                hint="e.g. --status failed (repeat --status for several)",
            )


@click.group(name="runs")
def runs() -> None:
    """List, show and prune recorded runs."""


@runs.command(name="list")
@click.option("--status", "statuses", multiple=True, help="Only runs with this status (repeat).")
@click.option("--workflow", "workflow_id", default=None, help="Only runs of this workflowId.")
@click.option("--label", "label_args", multiple=True, help="Only runs with label NAME=VALUE.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--before",
    "cursor",
    default=None,
    metavar="CURSOR",
    help="Only runs older than the run with this cursor (the `cursor` of --json output).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@store_option
def list_command(
    statuses: tuple[str, ...],
    workflow_id: str | None,
    label_args: tuple[str, ...],
    limit: int,
    cursor: str | None,
    as_json: bool,
    store_path: str | None,
) -> None:
    """List recorded runs, newest first."""
    _check_statuses(statuses)
    labels: dict[str, str] = {}
    for arg in label_args:
        name, sep, value = arg.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {arg!r}", param_hint="--label")
        labels[name] = value
    filters: dict[str, Any] = {
        "status": list(statuses) or None,
        "workflow_id": workflow_id,
        "labels": labels or None,
    }
    with store_scope(store_path) as store:
        found = store.list_runs(**filters, limit=limit + 1, before=cursor)
        more = len(found) > limit
        found = found[:limit]
        total = store.count_runs(**filters) if more else None
        location = store.location
    if as_json:
        _json_out([s.to_dict() for s in found])
        return
    if not found:
        filtered = statuses or workflow_id or labels or cursor
        click.echo(f"no runs {'match' if filtered else 'recorded'} in {location}")
        return
    footer = None
    if total is not None:
        footer = f"showing {len(found):,} of {total:,}; --limit to see more"
    rows = list_rows(found)
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(caption=footer)
        for name in rows[0]:
            table.add_column(name.lower(), overflow="fold", no_wrap=name != "LABELS")
        for row in rows[1:]:
            table.add_row(*row)
        Console().print(table)
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if footer:
        click.echo(footer)


@runs.command(name="show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (as `weft run`).")
@store_option
def show_command(run_id: str, as_json: bool, store_path: str | None) -> None:
    """Show one run: its result, or what was recorded so far."""
    with store_scope(store_path) as store:
        run = store.require_run(run_id)
    result = run.to_result()
    if as_json:
        _json_out(result)
        return
    click.echo(f"run       {run.run_id}")
    click.echo(f"workflow  {run.workflow_id}  ({run.document_uri})")
    click.echo(f"status    {run.status}")
    click.echo(f"started   {_when(run.created_at)}   updated {_when(run.updated_at)}")
    if run.duration is not None or run.cost is not None:
        click.echo(f"duration  {format_duration(run.duration)}   cost {format_cost(run.cost)}")
    if run.labels:
        click.echo(f"labels    {', '.join(f'{k}={v}' for k, v in sorted(run.labels.items()))}")
    for step in result.get("steps") or []:
        if isinstance(step, dict):
            codes = step.get("statusCodes") or step.get("status_codes") or []
            attempts = step.get("attempts")
            count = len(attempts) if isinstance(attempts, list) else attempts
            codes_text = " ".join(str(c) for c in codes)
            click.echo(f"  step {step.get('stepId')}: {count} attempt(s) {codes_text}")
    if run.pending is not None:
        p = run.pending
        safe = "safe to resend" if p.resend_safe else "NOT safe to resend"
        click.echo(
            f"pending   step {p.step_key} attempt {p.attempt}: "
            f"{p.summary.get('method', '')} {p.summary.get('url', '')} ({safe})"
        )
    if result.get("outputs"):
        click.echo("outputs   " + orjson.dumps(result["outputs"]).decode())
    if run.error:
        click.echo("error     " + orjson.dumps(run.error).decode())


@runs.command(name="prune")
@click.option("--older-than", "older_than", required=True, help="Age, e.g. 30m, 12h, 7d.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    help=f"Statuses to prune (repeat; default: {', '.join(TERMINAL_STATUSES)}).",
)
@store_option
def prune_command(older_than: str, statuses: tuple[str, ...], store_path: str | None) -> None:
    """Delete finished runs not updated for a while."""
    seconds = parse_duration(older_than)
    _check_statuses(statuses)
    with store_scope(store_path) as store:
        count = store.prune(seconds, statuses=list(statuses) or TERMINAL_STATUSES)
    click.echo(f"pruned {count} run{'s' if count != 1 else ''}")
