"""The ``weft run`` and ``weft resume`` commands."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from weft.engine.result import RunResult
from weft.errors import UsageError

EXIT_OK, EXIT_FAILED = 0, 1


def _servers(values: tuple[str, ...]) -> dict[str, str]:
    servers: dict[str, str] = {}
    for item in values:
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise UsageError(f"--server {item!r} is not NAME=URL", hint="--server api=http://...")
        servers[name.strip()] = url.strip()
    return servers


def _inputs_file(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read inputs file {path}", why=str(exc)) from exc
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UsageError(f"inputs file {path} is not JSON or YAML", why=str(exc)) from exc
    if not isinstance(data, dict):
        raise UsageError(f"inputs file {path} must hold an object of input values")
    return data


def _cli_inputs(plan: Any, pairs: tuple[str, ...]) -> dict[str, Any]:
    from weft.engine.validation import convert_cli_value

    values: dict[str, Any] = {}
    for item in pairs:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise UsageError(f"-i {item!r} is not name=value", hint="-i prompt='a red fox'")
        values[name] = convert_cli_value(plan, name, text) if plan is not None else text
    return values


def _emit(result: RunResult, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(result.to_dict(), default=_default).decode() + "\n")
    elif result.outputs:
        for k, v in result.outputs.items():
            click.echo(f"{k}: {v if isinstance(v, str) else orjson.dumps(v).decode()}")
    if result.message:
        click.echo(result.message, err=True)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _open_store(path: str | None) -> Any:
    from weft.store import open_store

    return open_store(path)


@click.command("run")
@click.argument("document")
@click.option("-w", "--workflow", "workflow_id", help="Workflow id (default: the first).")
@click.option("-i", "--input", "input_pairs", multiple=True, help="An input: name=value.")
@click.option("--inputs", "inputs_path", help="A JSON or YAML file of inputs.")
@click.option("--server", "server_pairs", multiple=True, help="Override a source: NAME=URL.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result on stdout.")
@click.option("--strict", is_flag=True, help="Read expressions exactly as the spec words them.")
@click.option("--max-steps", default=1000, show_default=True, help="Bound on step executions.")
@click.option("--timeout", type=float, help="Bound on the run's duration, in seconds.")
@click.option("--pace", help="Loop pacing: off, a delay, or a list like 1,2,5,10.")
@click.option("--store", "store_path", help="Run store (default: per-user; env WEFT_STORE).")
@click.option("--no-store", is_flag=True, help="Do not record the run.")
def run(
    document: str,
    workflow_id: str | None,
    input_pairs: tuple[str, ...],
    inputs_path: str | None,
    server_pairs: tuple[str, ...],
    as_json: bool,
    strict: bool,
    max_steps: int,
    timeout: float | None,
    pace: str | None,
    store_path: str | None,
    no_store: bool,
) -> None:
    """Run a workflow of an Arazzo document."""
    from weft.api import run_async
    from weft.document import load
    from weft.engine.pacing import parse_pace
    from weft.engine.progress import ProgressPrinter
    from weft.engine.runner import select_plan

    loaded = load(document)
    servers = _servers(server_pairs)
    pace_value = parse_pace(pace)
    inputs = _inputs_file(inputs_path)
    plan = select_plan(loaded, workflow_id, strict=strict)
    inputs.update(_cli_inputs(plan, input_pairs))
    store = None if no_store else _open_store(store_path)
    try:
        result = asyncio.run(
            run_async(
                loaded,
                plan.workflow_id,
                inputs,
                servers=servers,
                strict=strict,
                max_steps=max_steps,
                timeout=timeout,
                pace=pace_value,
                on_event=ProgressPrinter(),
                recorder=store,
            )
        )
    finally:
        if store is not None:
            store.close()
    _emit(result, as_json)


@click.command("resume")
@click.argument("run_id")
@click.option("-i", "--input", "input_pairs", multiple=True, help="Re-supply a secret input.")
@click.option("--inputs", "inputs_path", help="A JSON or YAML file of inputs.")
@click.option("--server", "server_pairs", multiple=True, help="Override a source: NAME=URL.")
@click.option("--resend", is_flag=True, help="Send a request of unknown outcome again.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result on stdout.")
@click.option("--store", "store_path", help="Run store (default: per-user; env WEFT_STORE).")
def resume(
    run_id: str,
    input_pairs: tuple[str, ...],
    inputs_path: str | None,
    server_pairs: tuple[str, ...],
    resend: bool,
    as_json: bool,
    store_path: str | None,
) -> None:
    """Continue a recorded run from its last checkpoint."""
    from weft.api import resume_async
    from weft.engine.progress import ProgressPrinter

    inputs = _inputs_file(inputs_path)
    inputs.update(_cli_inputs(None, input_pairs))
    store = _open_store(store_path)
    try:
        _refuse_if_resumed_elsewhere(store, run_id)
        result = asyncio.run(
            resume_async(
                run_id,
                store=store,
                inputs=inputs,
                resend=resend,
                servers=_servers(server_pairs),
                on_event=ProgressPrinter(),
            )
        )
    finally:
        store.close()
    _emit(result, as_json)


def _refuse_if_resumed_elsewhere(store: Any, run_id: str) -> None:
    """A run labelled ``resumeWith`` (e.g. ``weft civitai generate``, which downloads images
    after the workflow) is resumed by that command, not by ``weft resume``."""
    stored = store.get_run(run_id)
    command = (stored.labels or {}).get("resumeWith") if stored is not None else None
    if command:
        raise UsageError(
            f"run {run_id} was started by `weft {stored.labels.get('command', '…')}`",
            why="that command does more than the workflow (e.g. saves the images)",
            hint=f"resume it with `{command} {run_id}`",
        )


__all__ = ["resume", "run"]
