"""``weft civitai resume``: finish a ``weft civitai generate`` that stopped (kill -9, lid, OOM).

The engine run continues from its last checkpoint (a submit whose answer was lost is sent again:
it carries the run's ``externalId``, so Civitai returns the workflow it already created instead of
charging twice), then every image not already on disk is downloaded into the run's out dir.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from weft.civitai import SOURCES
from weft.civitai.generate import (
    KIND,
    GenerateOutcome,
    GenerateRequest,
    ProgressReporter,
    finish,
)
from weft.engine.result import RunResult
from weft.errors import UsageError


async def resume(
    run_id: str,
    *,
    token: str | None,
    api_base: str | None = None,
    store: Any = None,
    progress: Callable[[str], None] | None = None,
) -> GenerateOutcome:
    """Finish run ``run_id`` of ``weft civitai generate``; the same outcome ``generate`` gives.

    ``token`` must be re-supplied (it is never stored); ``api_base`` overrides the deployment the
    run was started against; ``store`` is a run store path (default: the per-user store).
    """
    from weft.api import resume_async
    from weft.store import open_store

    with open_store(store) as opened:
        stored = opened.require_run(run_id)
        labels = dict(stored.labels or {})
        if labels.get("kind") != KIND:
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
        base = api_base or labels.get("apiBase")
        if stored.status in ("succeeded", "failed"):
            # the engine run ended; what may be missing is the images on disk
            result = result_from_stored(stored.to_result())
        else:
            result = await resume_async(
                run_id,
                store=opened,
                inputs={"token": token},
                servers={name: api_base for name in SOURCES} if api_base else None,
                on_event=ProgressReporter(progress) if progress is not None else None,
            )
    inputs = dict(stored.inputs or {})
    req = GenerateRequest(
        model_version=int(inputs.get("modelVersionId") or 0),
        prompt=str(inputs.get("prompt") or ""),
        token=token,
        api_base=base,
        out=Path(labels["out"]) if labels.get("out") else None,
        out_root=Path(labels["outRoot"]) if labels.get("outRoot") else None,
    )
    return await finish(result, req, api_base=base, token=token)


def result_from_stored(data: dict[str, Any]) -> RunResult:
    """A :class:`RunResult` from its recorded ``to_dict()`` shape."""
    return RunResult.from_dict(data)
