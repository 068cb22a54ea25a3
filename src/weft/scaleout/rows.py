"""From an inputs file to jobs: one :class:`~weft.scaleout.jobs.Job` per row, checked before
anything is queued (a bad row is one clear error naming it; nothing is queued then).

The batch key is the one ``weft batch`` computes for the same document, workflow and inputs
file, and each job's run carries the same labels: a batch queued for workers and the same
batch run in one process find each other's runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weft.api import load_document, new_run_id
from weft.batch.rows import BatchRow, read_rows
from weft.batch.runner import batch_key_for
from weft.engine.options import RunOptions
from weft.errors import UsageError, WeftError
from weft.scaleout.jobs import CIVITAI, WORKFLOW, Job, JobKind
from weft.secrets import is_placeholder, placeholder

if TYPE_CHECKING:
    from weft.civitai.planning import GenerationAsk
    from weft.document import LoadedDocument
    from weft.engine.plan import WorkflowPlan


def file_batch_key(document_hash: str, workflow_id: str, inputs: str | Path) -> str:
    """``weft batch``'s key of an inputs file (its resolved path names it)."""
    return batch_key_for(document_hash, workflow_id, "file:" + str(Path(inputs).resolve()))


def _job(kind: JobKind, key: str, row: BatchRow, values: dict[str, Any], **fields: Any) -> Job:
    """The job of ``row`` in batch ``key``, with a run id of its own."""
    return Job(
        kind=kind,
        batch=key,
        row=row.number,
        line=row.line,
        digest=row.digest,
        run_id=new_run_id(),
        values=values,
        **fields,
    )


def _row_error(path: str | Path, row: BatchRow, exc: WeftError) -> UsageError:
    return UsageError(
        f"row {row.number} cannot be queued: {exc.what}",
        where=f"{path}:{row.line}",
        why=exc.why,
        hint=exc.hint or "fix the row; nothing was queued",
    )


def _secret_given(path: str | Path, where: str, name: str) -> UsageError:
    env = "WEFT_INPUT_" + "".join(c if c.isalnum() else "_" for c in name).upper()
    return UsageError(
        f"the secret input {name!r} cannot be queued",
        where=where if where else str(path),
        why="secrets never reach the queue's tables (DBOS stores every job's arguments)",
        hint=f"leave {name} out and give it to every worker: {env}=… in its environment, or "
        "`weft worker --secrets FILE`",
    )


def workflow_jobs(
    loaded: LoadedDocument,
    plan: WorkflowPlan,
    inputs_path: str | Path,
    *,
    defaults: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
    run_id_input: str | None = None,
) -> tuple[str, list[Job]]:
    """The batch key and the jobs of ``weft batch DOC --inputs FILE --enqueue``."""
    from weft.engine.validation import convert_cli_value

    rows = read_rows(Path(inputs_path))
    key = file_batch_key(loaded.document.content_hash, plan.workflow_id, inputs_path)
    base = dict(defaults or {})
    for name in sorted(plan.secret_inputs):
        if name in base and not is_placeholder(base[name]):
            raise _secret_given(inputs_path, "-i", name)
    snapshot = (options or RunOptions()).to_snapshot()
    uri = loaded.document.uri
    jobs: list[Job] = []
    for row in rows:
        for name in sorted(plan.secret_inputs):
            if row.values.get(name) not in (None, ""):
                raise _secret_given(inputs_path, f"{inputs_path}:{row.line}", name)
        values = dict(base)
        try:
            if row.text_values:
                for name, text in row.values.items():
                    values[name] = convert_cli_value(plan, name, text)
            else:
                values.update(row.values)
        except WeftError as exc:
            raise _row_error(inputs_path, row, exc) from None
        for name in sorted(plan.secret_inputs):
            values[name] = placeholder(name)
        jobs.append(
            _job(
                WORKFLOW,
                key,
                row,
                values,
                document_uri=uri,
                document_hash=loaded.document.content_hash,
                workflow_id=plan.workflow_id,
                options=snapshot,
                run_id_input=run_id_input,
            )
        )
    return key, jobs


def ask_values(ask: GenerationAsk) -> dict[str, Any]:
    """A :class:`GenerationAsk` as batch-row values (the columns ``--batch`` rows use)."""
    values: dict[str, Any] = {}
    if ask.model_version:
        values["modelVersionId"] = ask.model_version
    if ask.prompt:
        values["prompt"] = ask.prompt
    named = {
        "negativePrompt": ask.negative_prompt,
        "checkpoint": ask.checkpoint,
        "width": ask.width,
        "height": ask.height,
        "steps": ask.steps,
        "cfgScale": ask.cfg_scale,
        "seed": ask.seed,
        "quantity": ask.quantity,
        "sampler": ask.sampler,
        "clipSkip": ask.clip_skip,
    }
    values.update({k: v for k, v in named.items() if v is not None})
    if ask.loras:
        values["loras"] = ",".join(
            f"{c.version}:{c.strength:g}" if c.strength is not None else str(c.version)
            for c in ask.loras
        )
    if not ask.trigger_words:
        values["triggerWords"] = False
    return values


def civitai_jobs(
    inputs_path: str | Path,
    ask: GenerationAsk,
    *,
    api_base: str | None,
    out_root: Path,
    wait_seconds: int = 10,
) -> tuple[str, list[Job]]:
    """The batch key and the jobs of ``weft civitai generate --batch FILE --enqueue``."""
    from weft.civitai import SUBMIT_WORKFLOW, bundle_path
    from weft.civitai.batch import ask_from_row
    from weft.civitai.planning import GenerationAsk

    loaded = load_document(bundle_path())
    rows = read_rows(Path(inputs_path))
    key = file_batch_key(loaded.document.content_hash, SUBMIT_WORKFLOW, inputs_path)
    defaults = ask_values(ask)
    empty = GenerationAsk(model_version=0, prompt="")
    jobs: list[Job] = []
    for row in rows:
        values = {**defaults, **row.values}
        try:
            ask_from_row(values, empty)  # every row checked before anything is queued
        except WeftError as exc:
            raise _row_error(inputs_path, row, exc) from None
        jobs.append(
            _job(
                CIVITAI,
                key,
                row,
                values,
                api_base=api_base,
                out_root=str(out_root.resolve()),
                wait_seconds=wait_seconds,
            )
        )
    return key, jobs


__all__ = ["ask_values", "civitai_jobs", "file_batch_key", "workflow_jobs"]
