"""The ``weft run`` and ``weft resume`` commands."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING

import click

from weft.cli.net_options import NetworkChoices, network_options
from weft.cli.options import (
    STORE_HELP,
    parse_input_pairs,
    parse_servers,
    read_inputs_file,
    write_json,
)
from weft.cli.report_options import report_options, write_reports

if TYPE_CHECKING:
    from weft.cli.report_options import ReportFiles
    from weft.document import LoadedDocument
    from weft.engine.result import RunResult

EXIT_OK, EXIT_FAILED = 0, 1


def emit_result(
    result: RunResult,
    as_json: bool,
    loaded: LoadedDocument | None = None,
    *,
    recorded: bool = True,
) -> None:
    """Print a finished run (outputs, or ``--json``) and exit with its status; after a failure,
    what may help (the document's own defect, how to resume a recorded run)."""
    import orjson

    if as_json:
        write_json(result.to_dict())
    elif result.outputs:
        for k, v in result.outputs.items():
            click.echo(f"{k}: {v if isinstance(v, str) else orjson.dumps(v).decode()}")
    message = result.message
    if message:
        click.echo(message, err=True)
    if not result.ok and result.error is not None and loaded is not None:
        from weft.civitai.known_api import explain_refusal

        for line in explain_refusal(loaded, result.error):
            click.echo(line, err=True)
    if recorded and not result.ok and _resumable(result):
        click.echo(
            f"the run stopped on a failure that may pass; resume it with: weft resume "
            f"{result.run_id}",
            err=True,
        )
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


def _resumable(result: RunResult) -> bool:
    from weft.engine.resumable import transient

    return result.error is not None and transient(result.error)


@click.command("run")
@click.argument("document")
@click.option("-w", "--workflow", "workflow_id", help="Workflow id (default: the first).")
@click.option("-i", "--input", "input_pairs", multiple=True, help="An input: name=value.")
@click.option("--inputs", "inputs_path", metavar="FILE", help="A JSON or YAML file of inputs.")
@click.option("--server", "server_pairs", multiple=True, metavar="NAME=URL",
              help="Override a source's server URL (see `weft describe DOC`).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result on stdout.")
@click.option("--strict", is_flag=True, help="Read expressions exactly as the spec words them.")
@click.option("--max-steps", type=click.IntRange(1), default=1000, show_default=True,
              help="Bound on step executions.")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Bound on the run's duration, in seconds.")  # fmt: skip
@click.option("--pace", help="Loop pacing: off, a delay, or a list like 1,2,5,10.")
@click.option("--retries", type=click.IntRange(1), default=5, show_default=True,
              help="Tries of a resend-safe request without an answer (1: no retry).")  # fmt: skip
@click.option("--store", "store_path", metavar="PATH|URL", help=STORE_HELP)
@click.option("--no-store", is_flag=True, help="Do not record the run.")
@network_options()
@report_options()
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
    retries: int,
    store_path: str | None,
    no_store: bool,
    net: NetworkChoices,
    reports: ReportFiles,
) -> None:
    """Run a workflow of an Arazzo document."""
    from weft.api import ensure_runnable, load_document, run_async
    from weft.engine.options import RunOptions
    from weft.engine.runner import select_plan
    from weft.progress import ProgressPrinter
    from weft.store import store_scope

    loaded = load_document(document)
    ensure_runnable(loaded, strict=strict)
    options = RunOptions.build(
        servers=parse_servers(server_pairs, loaded.source_names()),
        strict=strict,
        max_steps=max_steps,
        timeout=timeout,
        pace=pace,
        retry=retries,
        auth=net.auth,
        checks=net.checks,
    )
    inputs = read_inputs_file(inputs_path)
    plan = select_plan(loaded, workflow_id, strict=strict)
    inputs.update(parse_input_pairs(plan, input_pairs))
    if no_store:
        result = asyncio.run(
            run_async(
                loaded,
                plan.workflow_id,
                inputs,
                options=options,
                on_event=reports.listen(ProgressPrinter()),
                http=net.http,
            )
        )
        write_reports(lambda: reports.write_run(result))
        emit_result(result, as_json, loaded, recorded=False)
        return
    else:
        with store_scope(store_path) as store:
            result = asyncio.run(
                run_async(
                    loaded,
                    plan.workflow_id,
                    inputs,
                    options=options,
                    on_event=reports.listen(ProgressPrinter()),
                    recorder=store,
                    http=net.http,
                )
            )
            write_reports(lambda: reports.write_run(result, store))
    emit_result(result, as_json, loaded)


@click.command("resume")
@click.argument("run_id")
@click.option("-i", "--input", "input_pairs", multiple=True, help="Re-supply a secret input.")
@click.option("--inputs", "inputs_path", metavar="FILE", help="A JSON or YAML file of inputs.")
@click.option("--server", "server_pairs", multiple=True, metavar="NAME=URL",
              help="Override a source's server URL.")  # fmt: skip
@click.option("--resend", is_flag=True, help="Send a request of unknown outcome again.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result on stdout.")
@click.option("--store", "store_path", metavar="PATH|URL", help=STORE_HELP)
@network_options(checks=False)
def resume(
    run_id: str,
    input_pairs: tuple[str, ...],
    inputs_path: str | None,
    server_pairs: tuple[str, ...],
    resend: bool,
    as_json: bool,
    store_path: str | None,
    net: NetworkChoices,
) -> None:
    """Continue a recorded run from its last checkpoint (credentials are given again: they are
    never recorded)."""
    from weft.api import resume_async
    from weft.progress import ProgressPrinter
    from weft.store import store_scope

    inputs = read_inputs_file(inputs_path)
    inputs.update(parse_input_pairs(None, input_pairs))
    with store_scope(store_path) as store:
        stored = store.require_run(run_id)
        labels = dict(stored.labels or {})
        if labels.get("kind") == "civitai-generate":
            # the Civitai command does more than the workflow (it saves the images): it
            # finishes its own runs; the token comes from -i token=, or CIVITAI_API_TOKEN
            from weft.civitai.commands import resume_run

            token = inputs.get("token") or os.environ.get("CIVITAI_API_TOKEN")
            servers = parse_servers(server_pairs)
            resume_run(
                run_id,
                token=str(token) if token else None,
                api_base=servers.get("orchestration"),
                as_json=as_json,
                store=store,
            )
            return
        result = asyncio.run(
            resume_async(
                run_id,
                store=store,
                inputs=inputs,
                resend=resend,
                servers=parse_servers(server_pairs),
                on_event=ProgressPrinter(),
                auth=net.auth,
                http=net.http,
            )
        )
    emit_result(result, as_json)


__all__ = ["emit_result", "resume", "run"]
