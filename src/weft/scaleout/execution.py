"""Running one queued row on a worker, through weft's own engine and the shared run store.

DBOS may start a job more than once (a worker died mid-row, and the row was handed to another):
every start reads the run store first, as ``weft batch`` does on a re-run. The row's latest run
(labels ``batch``, ``row``, ``digest``) decides:

- finished (succeeded, or failed for a reason that would happen again): its recorded result
  stands, nothing is sent; a Civitai row still saves whatever images are missing;
- unfinished, or failed for a reason that may pass: the run is resumed — a request whose answer
  was lost is sent again only when that is safe (an idempotent method or an idempotency key, as
  Civitai's ``externalId``); an unkeyed unsafe one ends the run ``outcome_unknown``;
- none yet: a new run, with the run id the job was queued with (so a paid submit's idempotency
  key, ``weft-<runId>``, is the same whichever worker sends it).

Secrets come from the worker, never from the job: secret inputs from ``WEFT_INPUT_<NAME>`` or
``weft worker --secrets FILE``, credentials from ``--auth``/``WEFT_AUTH_*``, the Civitai token
from ``CIVITAI_API_TOKEN``. What a job returns is masked with them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weft.batch.results import RowResult
from weft.batch.runner import RowHooks
from weft.effects import Clock, Transport
from weft.engine.credentials import AuthConfig
from weft.engine.options import RunOptions
from weft.engine.result import FAILED, SUCCEEDED, RunResult
from weft.engine.resumable import resumable
from weft.errors import StoreError, WeftError
from weft.scaleout.jobs import CIVITAI, Job, JobOutcome
from weft.secrets import SecretSet, is_placeholder

if TYPE_CHECKING:
    from weft.document import LoadedDocument
    from weft.store import RunStore, RunSummary


def secret_env_name(name: str) -> str:
    """``WEFT_INPUT_<NAME>``: where a worker finds a secret input (as ``weft resume`` does)."""
    return "WEFT_INPUT_" + "".join(c if c.isalnum() else "_" for c in name).upper()


@dataclass(frozen=True, slots=True)
class WorkerSecrets:
    """What a worker holds that no job does: secret input values (``--secrets FILE``, then
    ``WEFT_INPUT_<NAME>``), credentials (``auth``; ``None``: ``WEFT_AUTH_*``) and the Civitai
    token (``CIVITAI_API_TOKEN``)."""

    inputs: Mapping[str, Any]
    auth: AuthConfig | None = None
    civitai_token: str | None = None

    @classmethod
    def from_environment(
        cls, inputs: Mapping[str, Any] | None = None, auth: AuthConfig | None = None
    ) -> WorkerSecrets:
        return cls(dict(inputs or {}), auth, os.environ.get("CIVITAI_API_TOKEN") or None)

    def secret_input(self, name: str) -> Any:
        if name in self.inputs:
            return self.inputs[name]
        return os.environ.get(secret_env_name(name))


class RowFailure(Exception):
    """A row that cannot run on this worker; ``retry``: queueing it again may finish it."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class JobRunner:
    """Runs jobs (see the module docstring); one per worker, shared by its concurrent jobs."""

    def __init__(
        self,
        store: RunStore,
        transport: Transport,
        clock: Clock,
        secrets: WorkerSecrets,
        say: Callable[[str], None],
    ) -> None:
        self.store = store
        self.say = say
        self._said: set[str] = set()
        self.transport = transport
        self.clock = clock
        self.secrets = secrets
        self._documents: dict[tuple[str, str], LoadedDocument] = {}
        self._hooks: dict[tuple[str | None, str, int], RowHooks] = {}
        self._bundle: LoadedDocument | None = None  # the Civitai bundle, loaded once

    async def run(self, job: Job) -> JobOutcome:
        """Run (or resume, or reuse) the row of ``job``; its outcome. A store that cannot be
        used raises (the job then fails and is queued again by the next enqueue)."""
        masks = SecretSet()
        try:
            previous = self._previous(job)
            if previous is not None and self._reusable(previous):
                row = self._stored(job, previous.run_id)
            else:
                run_id = previous.run_id if previous is not None else job.run_id
                resume = previous is not None
                if job.kind == CIVITAI:
                    row = await self._civitai(job, run_id, resume, masks)
                else:
                    row = await self._workflow(job, run_id, resume, masks)
            finish = self._civitai_hooks(job).finish_row if job.kind == CIVITAI else None
            if finish is not None:
                try:
                    row = await finish(row)
                except WeftError as exc:  # an outage while saving the images: queued again
                    may_pass = exc.transient or bool(getattr(exc, "resumable", False))
                    row = row.failed_after(masks.mask_str(str(exc)), resumable=may_pass)
        except StoreError:
            raise
        except RowFailure as exc:
            if exc.retry and exc.reason not in self._said:  # the worker's own setup: say it
                self._said.add(exc.reason)
                self.say(f"row {job.row} of batch {job.batch} not run: {exc.reason}")
            return JobOutcome(self._failed(job, masks.mask_str(exc.reason)), retry=exc.retry)
        except WeftError as exc:  # planning that met an outage is queued again too
            retry = exc.transient or bool(getattr(exc, "resumable", False))
            return JobOutcome(self._failed(job, masks.mask_str(str(exc))), retry=retry)
        except Exception as exc:  # a defect must not sink the worker; the row may run again
            reason = masks.mask_str(f"{type(exc).__name__}: {exc}")
            return JobOutcome(self._failed(job, reason), retry=True)
        finally:
            self.store.flush()  # the row's end is committed before the queue hears of it
        return JobOutcome(row, retry=self._retry(row))

    # the row's earlier runs

    def _previous(self, job: Job) -> RunSummary | None:
        runs = self.store.find_runs({"batch": job.batch, "row": str(job.row)})
        same = [r for r in runs if r.labels.get("digest") == job.digest]
        return same[-1] if same else None

    def _reusable(self, summary: RunSummary) -> bool:
        if summary.status == SUCCEEDED:
            return True
        if summary.status != FAILED:
            return False
        stored = self.store.get_run(summary.run_id)
        return stored is None or not resumable(stored.result)

    def _stored(self, job: Job, run_id: str) -> RowResult:
        stored = self.store.get_run(run_id)
        result = stored.to_result() if stored is not None else {}
        return RowResult.stored(job.row, job.line, run_id, result)

    @staticmethod
    def _retry(row: RowResult) -> bool:
        if row.ok or row.partial or row.status != FAILED:
            return False
        error = row.error or {}
        civitai = error.get("civitai")
        if isinstance(civitai, Mapping) and civitai.get("resumable"):
            return True
        return bool(error.get("resumable")) or resumable({"error": error})

    @staticmethod
    def _failed(job: Job, reason: str) -> RowResult:
        return RowResult.failed(job.row, job.line, None, reason)

    def _row(self, job: Job, result: RunResult, resume: bool, masks: SecretSet) -> RowResult:
        return RowResult.of_run(job.row, job.line, result, masks, resumed=resume)

    # workflow rows (weft batch --enqueue)

    def _document(self, job: Job) -> LoadedDocument:
        key = (job.document_uri, job.document_hash)
        loaded = self._documents.get(key)
        if loaded is None:
            from weft.api import load_document

            try:
                loaded = load_document(job.document_uri)
            except WeftError as exc:
                raise RowFailure(
                    f"this worker cannot read the document {job.document_uri}: {exc.what}",
                    retry=True,
                ) from None
            if loaded.document.content_hash != job.document_hash:
                raise RowFailure(
                    f"the document {job.document_uri} changed since the batch was queued "
                    "(every worker must read the same document)",
                    retry=False,
                )
            self._documents[key] = loaded
        return loaded

    async def _workflow(self, job: Job, run_id: str, resume: bool, masks: SecretSet) -> RowResult:
        from weft.api import resume_async, run_async
        from weft.engine.runner import select_plan

        loaded = self._document(job)
        options = RunOptions.from_snapshot(job.options)
        plan = select_plan(loaded, job.workflow_id, strict=options.strict)
        supplied = {
            name: value
            for name in sorted(plan.secret_inputs)
            if (value := self.secrets.secret_input(name)) is not None
        }
        for value in supplied.values():
            masks.add(value)
        schema = plan.inputs_schema if isinstance(plan.inputs_schema, Mapping) else {}
        listed = schema.get("required")
        required = {str(n) for n in listed} if isinstance(listed, list) else set()
        for name in sorted(plan.secret_inputs & required - set(supplied)):
            raise RowFailure(
                f"this worker has no value for the secret input {name!r}: set "
                f"{secret_env_name(name)} in its environment or pass --secrets FILE, then "
                "queue the batch again",
                retry=True,
            )
        inputs = {k: v for k, v in job.values.items() if not is_placeholder(v)}
        inputs.update(supplied)
        if job.run_id_input:
            inputs[job.run_id_input] = run_id
        if resume:
            result = await resume_async(
                run_id,
                store=self.store,
                inputs=supplied,
                servers=options.servers,
                auth=self.secrets.auth,
                transport=self.transport,
                clock=self.clock,
                document=loaded,
            )
        else:
            result = await run_async(
                loaded,
                job.workflow_id,
                inputs,
                options=options,
                auth=self.secrets.auth,
                recorder=self.store,
                transport=self.transport,
                clock=self.clock,
                run_id=run_id,
                labels=job.labels,
            )
        return self._row(job, result, resume, masks)

    # Civitai rows (weft civitai generate --batch … --enqueue)

    def _civitai_hooks(self, job: Job) -> RowHooks:
        key = (job.api_base, job.out_root, job.wait_seconds)
        hooks = self._hooks.get(key)
        if hooks is None:
            from weft.civitai.batch import civitai_row_hooks
            from weft.civitai.generate import Deployment
            from weft.civitai.planning import GenerationAsk

            where = Deployment(self._token(), job.api_base)
            hooks = civitai_row_hooks(
                GenerationAsk(model_version=0, prompt=""),
                where,
                self.transport,
                self.clock,
                self.store,
                out_root=Path(job.out_root),
                wait_seconds=job.wait_seconds,
            )
            self._hooks[key] = hooks
        return hooks

    def _token(self) -> str:
        token = self.secrets.civitai_token
        if not token:
            raise RowFailure(
                "this worker has no Civitai token: start it with CIVITAI_API_TOKEN set",
                retry=True,
            )
        return token

    async def _civitai(self, job: Job, run_id: str, resume: bool, masks: SecretSet) -> RowResult:
        from weft.api import load_document, resume_async, run_async
        from weft.civitai import SUBMIT_WORKFLOW, bundle_path
        from weft.civitai.generate import Deployment

        token = self._token()
        masks.add(token)
        where = Deployment(token, job.api_base)
        hooks = self._civitai_hooks(job)
        if self._bundle is None:
            self._bundle = load_document(bundle_path())
        loaded = self._bundle
        if resume:
            assert hooks.resume_inputs is not None
            supplied = hooks.resume_inputs(dict(job.values), run_id)
            if not isinstance(supplied, Mapping):
                supplied = await supplied
            result = await resume_async(
                run_id,
                store=self.store,
                inputs=supplied,
                servers=where.servers(),
                transport=self.transport,
                clock=self.clock,
                document=loaded,
            )
        else:
            assert hooks.prepare_inputs is not None
            prepared = hooks.prepare_inputs(dict(job.values), run_id)
            inputs = prepared if isinstance(prepared, Mapping) else await prepared
            result = await run_async(
                loaded,
                SUBMIT_WORKFLOW,
                dict(inputs),
                options=RunOptions.build(servers=where.servers()),
                recorder=self.store,
                transport=self.transport,
                clock=self.clock,
                run_id=run_id,
                labels={**hooks.labels, **job.labels},  # `weft resume` finishes it as a row
            )
        return self._row(job, result, resume, masks)


__all__ = ["JobRunner", "RowFailure", "WorkerSecrets", "secret_env_name"]
