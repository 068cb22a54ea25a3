"""A queued row (a *job*): what DBOS stores as the job workflow's argument, and what it returns.

A job says everything a worker needs to run one batch row, and nothing secret (DBOS keeps
workflow arguments and results in its tables):

- ``workflow`` jobs (``weft batch --enqueue``): the document (its URI and content hash: a
  worker refuses a document that changed), the workflow, the row's inputs with every secret
  input a placeholder (``{"$weftSecret": name}``, filled on the worker from
  ``WEFT_INPUT_<NAME>`` or ``weft worker --secrets FILE``), the run options (credentials are
  never among them: a worker has its own, ``--auth``/``WEFT_AUTH_*``);
- ``civitai`` jobs (``weft civitai generate --batch … --enqueue``): the row's generation values,
  the deployment's base URL (the token is the worker's ``CIVITAI_API_TOKEN``) and where images
  go.

A job's id is ``<batch>.r<row>.<digest>.a<attempt>``: enqueueing the same rows again finds the
ids already there and adds nothing; a row whose last attempt ended in a failure that may pass
is queued again as the next attempt (which resumes the row's run).

The result (:class:`JobOutcome`) is the row's results line without its outputs (those are in
the run store), plus ``retry``: whether queueing the row again may finish it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from weft.batch.results import RowResult

FORMAT = 1
JobKind = Literal["workflow", "civitai"]
WORKFLOW: Final = "workflow"
CIVITAI: Final = "civitai"

_JOB_ID = re.compile(r"^(?P<batch>.+)\.r(?P<row>\d+)\.(?P<digest>[0-9a-f]+)\.a(?P<attempt>\d+)$")


def job_id(batch: str, row: int, digest: str, attempt: int) -> str:
    return f"{batch}.r{row}.{digest}.a{attempt}"


@dataclass(frozen=True, slots=True)
class JobId:
    """A job id, read back."""

    batch: str
    row: int
    digest: str
    attempt: int

    @classmethod
    def parse(cls, text: str) -> JobId | None:
        match = _JOB_ID.match(text)
        if match is None:
            return None
        return cls(match["batch"], int(match["row"]), match["digest"], int(match["attempt"]))


@dataclass(frozen=True, slots=True)
class Job:
    """One queued row (see the module docstring); ``values`` are the workflow's inputs
    (``workflow``) or the row's generation values (``civitai``)."""

    kind: JobKind
    batch: str
    row: int
    line: int
    digest: str
    run_id: str
    values: dict[str, Any]
    attempt: int = 1
    # workflow jobs
    document_uri: str = ""
    document_hash: str = ""
    workflow_id: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    run_id_input: str | None = None
    # civitai jobs
    api_base: str | None = None
    out_root: str = ""
    wait_seconds: int = 10

    @property
    def id(self) -> str:
        return job_id(self.batch, self.row, self.digest, self.attempt)

    @property
    def labels(self) -> dict[str, str]:
        """The run's labels, as ``weft batch`` gives them (so either finds the other's runs)."""
        return {"batch": self.batch, "row": str(self.row), "digest": self.digest}

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "format": FORMAT,
            "kind": self.kind,
            "batch": self.batch,
            "row": self.row,
            "line": self.line,
            "digest": self.digest,
            "runId": self.run_id,
            "attempt": self.attempt,
            "values": self.values,
        }
        if self.kind == WORKFLOW:
            d.update(
                document={"uri": self.document_uri, "hash": self.document_hash},
                workflowId=self.workflow_id,
                options=self.options,
                runIdInput=self.run_id_input,
            )
        else:
            d.update(apiBase=self.api_base, outRoot=self.out_root, waitSeconds=self.wait_seconds)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Job:
        """A job as queued (a ``ValueError`` for what a worker of this version cannot read)."""
        if d.get("format") != FORMAT or d.get("kind") not in (WORKFLOW, CIVITAI):
            raise ValueError(f"a job of format {d.get('format')!r}, kind {d.get('kind')!r}")
        document = d.get("document") or {}
        return cls(
            kind=d["kind"],
            batch=str(d["batch"]),
            row=int(d["row"]),
            line=int(d["line"]),
            digest=str(d["digest"]),
            run_id=str(d["runId"]),
            values=dict(d.get("values") or {}),
            attempt=int(d.get("attempt", 1)),
            document_uri=str(document.get("uri", "")),
            document_hash=str(document.get("hash", "")),
            workflow_id=str(d.get("workflowId") or ""),
            options=dict(d.get("options") or {}),
            run_id_input=d.get("runIdInput"),
            api_base=d.get("apiBase"),
            out_root=str(d.get("outRoot") or ""),
            wait_seconds=int(d.get("waitSeconds", 10)),
        )


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What a job returns: its row's result (outputs left in the run store; secrets masked) and
    whether queueing the row again may finish it (``retry``)."""

    row: RowResult
    retry: bool = False

    def to_json(self) -> dict[str, Any]:
        d = self.row.to_dict()
        d.pop("outputs", None)
        d["source"] = self.row.source
        d["retry"] = self.retry
        return d

    @classmethod
    def from_json(cls, d: Any) -> JobOutcome | None:
        if not isinstance(d, dict) or not isinstance(d.get("row"), int):
            return None
        known = {"row", "line", "runId", "status", "error", "source", "retry", "outputs"}
        row = RowResult(
            row=int(d["row"]),
            line=int(d.get("line") or 0),
            run_id=d.get("runId"),
            status=str(d.get("status") or "failed"),
            error=d.get("error") if isinstance(d.get("error"), dict) else None,
            source=str(d.get("source") or "run"),
            extra={k: v for k, v in d.items() if k not in known},
        )
        return cls(row, bool(d.get("retry", False)))


__all__ = ["CIVITAI", "FORMAT", "WORKFLOW", "Job", "JobId", "JobKind", "JobOutcome", "job_id"]
