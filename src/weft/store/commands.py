"""``weft runs``: list, show and prune recorded runs."""

from __future__ import annotations

import re
import sys
import time
from typing import Any

import click
import orjson

from weft.errors import UsageError
from weft.store.opening import open_store
from weft.store.records import TERMINAL_STATUSES, RunSummary

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)

store_option = click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Run store file (default: $WEFT_STORE or the per-user location).",
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


@click.group(name="runs")
def runs() -> None:
    """List, show and prune recorded runs."""


@runs.command(name="list")
@click.option("--status", "statuses", multiple=True, help="Only runs with this status (repeat).")
@click.option("--workflow", "workflow_id", default=None, help="Only runs of this workflowId.")
@click.option("--label", "label_args", multiple=True, help="Only runs with label NAME=VALUE.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@store_option
def list_command(
    statuses: tuple[str, ...],
    workflow_id: str | None,
    label_args: tuple[str, ...],
    limit: int,
    as_json: bool,
    store_path: str | None,
) -> None:
    """List recorded runs, newest first."""
    labels: dict[str, str] = {}
    for arg in label_args:
        name, sep, value = arg.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {arg!r}", param_hint="--label")
        labels[name] = value
    with open_store(store_path) as store:
        found = store.list_runs(
            status=list(statuses) or None,
            workflow_id=workflow_id,
            labels=labels or None,
            limit=limit,
        )
    if as_json:
        _json_out([s.to_dict() for s in found])
        return
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table()
        table.add_column("run id", no_wrap=True)
        table.add_column("workflow", overflow="fold")
        table.add_column("status", no_wrap=True)
        table.add_column("started", no_wrap=True)
        table.add_column("labels", overflow="fold")
        for s in found:
            started = time.strftime("%m-%d %H:%M", time.localtime(s.created_at))
            table.add_row(s.run_id, s.workflow_id, s.status, started, _labels(s))
        Console().print(table)
        return
    for s in found:
        fields = [s.run_id, s.workflow_id, s.status, _when(s.created_at), _when(s.updated_at)]
        if s.labels:
            fields.append(_labels(s))
        click.echo("\t".join(fields))


@runs.command(name="show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (as `weft run`).")
@store_option
def show_command(run_id: str, as_json: bool, store_path: str | None) -> None:
    """Show one run: its result, or what was recorded so far."""
    with open_store(store_path) as store:
        run = store.require_run(run_id)
    result = run.to_result()
    if as_json:
        _json_out(result)
        return
    click.echo(f"run       {run.run_id}")
    click.echo(f"workflow  {run.workflow_id}  ({run.document_uri})")
    click.echo(f"status    {run.status}")
    click.echo(f"started   {_when(run.created_at)}   updated {_when(run.updated_at)}")
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
    with open_store(store_path) as store:
        count = store.prune(seconds, statuses=list(statuses) or TERMINAL_STATUSES)
    click.echo(f"pruned {count} run{'s' if count != 1 else ''}")
