"""Finishing a ``weft civitai generate`` run that stopped (kill -9, a lid closed, an outage, a
refused token): ``weft resume RUN_ID`` (and ``weft civitai resume``) come here.

The engine run continues from its last checkpoint: a submit whose answer was lost is sent again
with the run's ``externalId``, so Civitai returns the workflow it already created instead of
charging twice; a poll that kept failing polls again. Once the workflow exists, resume takes it
to its end whatever stopped it. Then every image not already on disk is saved.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weft.store import RunStore

from weft.civitai.failures import workflow_id_of
from weft.civitai.generate import KIND, Deployment, GenerateOutcome, StatusLines, finish
from weft.engine.result import RunResult, RunStatus
from weft.errors import UsageError


def is_civitai_run(labels: dict[str, str] | None) -> bool:
    return bool(labels) and (labels or {}).get("kind") == KIND


async def resume_generation(
    run_id: str,
    *,
    token: str | None,
    api_base: str | None = None,
    store: RunStore | str | os.PathLike[str] | None = None,
    notice: Callable[[str], None] = print,
    progress: bool = True,
) -> GenerateOutcome:
    """Finish run ``run_id`` of ``weft civitai generate``; the same outcome ``generate`` gives.

    ``token`` must be given again (it is never stored); ``api_base`` overrides the deployment
    the run was started against; ``store`` is the run store (default: the per-user store).
    """
    from weft.api import resume_async, transport_scope
    from weft.effects.clock import SystemClock
    from weft.progress import ProgressPrinter
    from weft.store import store_scope

    clock = SystemClock()
    with store_scope(store) as opened:
        stored = opened.require_run(run_id)
        labels = dict(stored.labels or {})
        if not is_civitai_run(labels):
            raise UsageError(
                f"run {run_id} is not a `weft civitai generate` run",
                hint=f"resume it with `weft resume {run_id}`",
            )
        if labels.get("simulator") == "embedded":
            raise UsageError(
                f"run {run_id} ran on the embedded simulator, which ended with its process",
                hint="start a new run with `weft civitai generate`",
            )
        if not token:
            raise UsageError(
                f"resuming run {run_id} needs the Civitai token again (it is never stored)",
                hint="pass --token or set CIVITAI_API_TOKEN",
            )
        where = Deployment(token, api_base or labels.get("apiBase"))
        recorded = RunResult.from_dict(stored.result) if stored.result else None
        async with transport_scope(None) as sender:
            if stored.status == RunStatus.SUCCEEDED and recorded is not None:
                result = recorded  # the workflow ended; what may be missing is images on disk
            else:
                lines = StatusLines()
                result = await resume_async(
                    run_id,
                    store=opened,
                    inputs={"token": token},
                    servers=where.servers() if api_base else None,
                    transport=sender,
                    clock=clock,
                    on_event=ProgressPrinter(step_line=lines, run_lines=False)
                    if progress
                    else None,
                    # once Civitai has the workflow, follow it to its end whatever stopped it
                    force=recorded is not None and workflow_id_of(recorded) is not None,
                )
            inputs = dict(stored.inputs or {})
            metadata = inputs.get("metadata")
            return await finish(
                result,
                where,
                sender,
                clock,
                out=Path(labels["out"]) if labels.get("out") else None,
                out_root=Path(labels["outRoot"]) if labels.get("outRoot") else None,
                metadata=metadata if isinstance(metadata, dict) else None,
            )
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = ["is_civitai_run", "resume_generation"]
