"""``weft civitai generate --batch FILE``: one generation per row, through the one batch command
core (:func:`weft.batch.commands.run_batch_command`) with Civitai's :class:`RowHooks`:

- ``prepare_inputs`` plans each new row (its model version of any role, LoRAs, family
  defaults; see :mod:`weft.civitai.planning`) and derives its ``externalId`` from the run id, so
  running the same file again after a crash finishes only what was left and never submits (or
  charges for) a row twice;
- ``resume_inputs`` re-supplies the token of a run that is resumed;
- ``finish_row`` saves the row's images (``partial`` when some were blocked) and says a failed
  row's reason in Civitai's terms; it raises an outage (no answer, 5xx) so that the batch tries
  the row again after its pauses, as it does a row whose planning met one.

Rows hold the command's options by their workflow-input names (``modelVersionId``, ``prompt``,
``negativePrompt``, ``checkpoint``, ``loras`` ("1012:0.8,1013"), ``width``, ``height``,
``steps``, ``cfgScale``, ``seed``, ``quantity``, ``sampler``, ``clipSkip``, ``triggerWords``);
the command's options fill what a row leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weft.store import RunStore

from weft.batch.results import PARTIAL, RowResult
from weft.batch.runner import RowHooks
from weft.civitai.errors import CivitaiError, Reason
from weft.civitai.failures import explain
from weft.civitai.generate import (
    Deployment,
    deployment_labels,
    external_id_for,
    finish,
    workflow_inputs,
)
from weft.civitai.planning import GenerationAsk, LoraChoice, plan_generation
from weft.civitai.site import SiteClient
from weft.effects import Clock, Transport
from weft.engine.result import RunResult, RunStatus

_INT = {"modelVersionId": "model_version", "checkpoint": "checkpoint", "width": "width",
        "height": "height", "steps": "steps", "seed": "seed", "quantity": "quantity",
        "clipSkip": "clip_skip"}  # fmt: skip
_TEXT = {"prompt": "prompt", "negativePrompt": "negative_prompt", "sampler": "sampler"}
KNOWN = frozenset({*_INT, *_TEXT, "cfgScale", "loras", "triggerWords"})


def ask_from_row(values: Mapping[str, Any], defaults: GenerationAsk) -> GenerationAsk:
    """A row's :class:`GenerationAsk` (CSV cells are text: typed here); unknown names and bad
    values are one clear error naming the column."""
    unknown = sorted(set(values) - KNOWN)
    if unknown:
        raise CivitaiError(
            Reason.OUT_OF_RANGE,
            f"unknown column {unknown[0]!r} in the batch row",
            hint=f"columns: {', '.join(sorted(KNOWN))}",
        )
    changes: dict[str, Any] = {}
    for column, name in _INT.items():
        if column in values and values[column] not in (None, ""):
            changes[name] = _number(values[column], column, int)
    for column, name in _TEXT.items():
        if column in values and values[column] is not None:
            changes[name] = str(values[column])
    if values.get("cfgScale") not in (None, ""):
        changes["cfg_scale"] = _number(values["cfgScale"], "cfgScale", float)
    loras = values.get("loras")
    if loras not in (None, ""):
        items = loras if isinstance(loras, list) else str(loras).split(",")
        changes["loras"] = tuple(LoraChoice.parse(str(x).strip()) for x in items if str(x).strip())
    words = values.get("triggerWords")
    if words not in (None, ""):
        changes["trigger_words"] = str(words).strip().lower() not in ("false", "0", "no", "off")
    ask = replace(defaults, **changes)
    if not ask.model_version or not ask.prompt:
        raise CivitaiError(
            Reason.OUT_OF_RANGE,
            "the row has no modelVersionId or no prompt (and the command gives none)",
            hint="give each row modelVersionId and prompt, or pass --model-version/--prompt",
        )
    return ask


def _number(value: Any, column: str, kind: type[int] | type[float]) -> Any:
    if isinstance(value, bool):
        raise CivitaiError(Reason.OUT_OF_RANGE, f"{column}: {value!r} is not a number")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise CivitaiError(Reason.OUT_OF_RANGE, f"{column}: {value!r} is not a number") from None
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise CivitaiError(Reason.OUT_OF_RANGE, f"{column}: {value!r} is not a whole number")
    return number


def civitai_row_hooks(
    defaults: GenerationAsk,
    where: Deployment,
    transport: Transport,
    clock: Clock,
    store: RunStore,
    *,
    out_root: Path,
    wait_seconds: int = 10,
) -> RowHooks:
    """The hooks of a Civitai batch (see the module docstring)."""
    site = SiteClient(transport, clock, base=where.site_base, token=where.token)
    metadata: dict[str, dict[str, Any]] = {}

    async def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
        plan = await plan_generation(ask_from_row(values, defaults), site)
        inputs = workflow_inputs(plan, where.token, external_id_for(run_id), wait_seconds)
        metadata[run_id] = inputs["metadata"]
        return inputs

    def resume_inputs(values: dict[str, Any], run_id: str) -> dict[str, Any]:
        return {"token": where.token}

    async def finish_row(row: RowResult) -> RowResult:
        result = RunResult.from_dict(
            {
                "runId": row.run_id,
                "workflowId": "submit-and-wait",
                "status": row.status,
                "outputs": row.outputs,
                "error": row.error,
            }
        )
        if row.run_id is None:
            return row  # the row failed before a run started: its reason stands
        if row.status != RunStatus.SUCCEEDED:
            return replace(row, error={**(row.error or {}), "civitai": explain(result).to_dict()})
        generation = metadata.pop(row.run_id, None)
        if generation is None:
            stored = store.get_run(row.run_id)
            recorded = (stored.inputs or {}).get("metadata") if stored is not None else None
            generation = recorded if isinstance(recorded, dict) else None
        try:
            outcome = await finish(
                result, where, transport, clock, out_root=out_root, metadata=generation
            )
        except CivitaiError as exc:
            if exc.transient:  # an outage: the batch tries again after its pauses
                raise exc.at_run(row.run_id) from None
            return replace(row, status=RunStatus.FAILED, error=exc.at_run(row.run_id).to_dict())
        extra = {
            "workflowId": outcome.workflow_id,
            "cost": outcome.cost,
            "files": [str(f) for f in outcome.files],
        }
        if outcome.blocked:
            extra["blocked"] = [b.to_dict() for b in outcome.blocked]
            return replace(row, status=PARTIAL, extra=extra)
        return replace(row, extra=extra)

    async def close() -> None:
        closing = getattr(transport, "close", None)
        if closing is not None:
            await closing()

    return RowHooks(
        prepare_inputs=prepare,
        resume_inputs=resume_inputs,
        finish_row=finish_row,
        close=close,
        # `weft resume` of a row's run saves its images where the batch would have
        labels=deployment_labels(where, out_root=out_root, command="civitai generate --batch"),
    )


def row_line(row: RowResult) -> str:
    """The line printed as a row finishes."""
    if row.ok or row.partial:
        files = row.extra.get("files") or []
        where = str(Path(files[0]).parent) if files else "-"
        line = (
            f"row {row.row}: {row.extra.get('workflowId')} {row.extra.get('cost')} Buzz, "
            f"{len(files)} saved in {where}"
        )
        blocked = row.extra.get("blocked") or []
        return line + (f" ({len(blocked)} blocked)" if blocked else "")
    error = row.error or {}
    civitai = error.get("civitai")
    reason = civitai.get("message") if isinstance(civitai, dict) else error.get("reason")
    return f"row {row.row}: error: {reason}"


__all__ = ["KNOWN", "ask_from_row", "civitai_row_hooks", "row_line"]
