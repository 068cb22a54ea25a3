"""``weft civitai generate --batch FILE``: one generation per row, on top of
:func:`weft.batch.run_batch`, each row's images downloaded as the row finishes.

Rows hold workflow inputs (``modelVersionId``, ``prompt``, ``quantity``, ``width``…); the
command's options fill what a row leaves out. Every row's ``externalId`` derives from its run
id, so running the same file again after a crash finishes only what was left and never submits
(or charges for) a row twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weft.civitai import SOURCES, WORKFLOW_ID, bundle_path
from weft.civitai.generate import (
    GenerateOutcome,
    GenerateRequest,
    external_id_for,
    finish,
    open_deployment,
    workflow_inputs,
)
from weft.civitai.resume import result_from_stored
from weft.engine.result import RunResult
from weft.errors import WeftError


@dataclass
class BatchRowOutcome:
    row: int
    run_id: str | None
    outcome: GenerateOutcome | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"row": self.row, "runId": self.run_id}
        if self.outcome is not None:
            d.update(self.outcome.to_dict())
            d["runId"] = self.run_id
        else:
            d.update(status="failed", error=self.error)
        return d


async def generate_batch(
    rows: Path,
    defaults: GenerateRequest,
    *,
    concurrency: int = 4,
    store: Any = None,
    notice: Callable[[str], None] = print,
    on_row: Callable[[BatchRowOutcome], None] | None = None,
    on_progress: Callable[[Any], Any] | None = None,
    simulator_config: Any = None,
) -> list[BatchRowOutcome]:
    """Run the bundle once per row of ``rows``; ``defaults`` supplies the token, the deployment,
    the out dir (each row's images go to ``<out or ./weft-out>/<workflowId>/``) and the inputs a
    row leaves out."""
    from weft.batch import RowResult, run_batch

    async with AsyncExitStack() as stack:
        token, base, simulated = await open_deployment(
            stack, defaults.token, defaults.api_base, simulator_config, notice
        )
        row_defaults = workflow_inputs(defaults, "", "")
        for secret_or_key in ("token", "externalId"):
            row_defaults.pop(secret_or_key, None)
        if not defaults.model_version:
            row_defaults.pop("modelVersionId", None)
        if not defaults.prompt:
            row_defaults.pop("prompt", None)
        out_root = defaults.out or defaults.out_root or Path("weft-out")
        from weft.store import open_store

        opened = store if hasattr(store, "get_run") else open_store(store)
        if opened is not store:
            stack.callback(opened.close)
        downloads: list[asyncio.Task[BatchRowOutcome]] = []
        import aiohttp

        # one session (connection pool) for every row's image downloads
        http = await stack.enter_async_context(aiohttp.ClientSession())

        def prepare(values: dict[str, Any], run_id: str) -> dict[str, Any]:
            return {**values, "externalId": external_id_for(run_id), "token": token}

        async def download(row: RowResult) -> BatchRowOutcome:
            done = BatchRowOutcome(row.row, row.run_id)
            stored = opened.get_run(row.run_id) if row.run_id else None
            inputs = dict(stored.inputs or {}) if stored is not None else {}
            req = GenerateRequest(
                model_version=int(inputs.get("modelVersionId") or defaults.model_version or 0),
                prompt=str(inputs.get("prompt") or ""),
                out_root=out_root,
            )
            if stored is not None and stored.status == row.status:
                # the recorded result has the steps' status codes that explain a failure
                result = result_from_stored(stored.to_result())
            else:
                result = RunResult.from_dict(
                    {"runId": row.run_id, "workflowId": WORKFLOW_ID, "status": row.status,
                     "outputs": row.outputs, "error": row.error}
                )  # fmt: skip
            try:
                done.outcome = await finish(result, req, api_base=base, token=token, http=http)
                done.outcome.simulated = simulated
            except WeftError as exc:
                done.error = exc.what
            if on_row is not None:
                on_row(done)
            return done

        def row_done(row: RowResult) -> None:
            downloads.append(asyncio.ensure_future(download(row)))

        servers = {name: base for name in SOURCES} if base else None
        await run_batch(
            bundle_path(), rows, workflow_id=WORKFLOW_ID, defaults=row_defaults,
            concurrency=concurrency, servers=servers, store=opened, prepare_inputs=prepare,
            on_row_done=row_done, on_progress=on_progress,
        )  # fmt: skip
        outcomes = list(await asyncio.gather(*downloads))
        return sorted(outcomes, key=lambda o: o.row)
    raise AssertionError("unreachable")  # pragma: no cover
