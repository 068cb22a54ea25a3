"""A loaded Arazzo document with its sources, and resolution of operations and workflows."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from weft.document.model import ArazzoDocument, Step, Workflow
from weft.document.parse import Parsed, unescape
from weft.errors import DocumentError

if TYPE_CHECKING:
    from weft.openapi.description import OpenAPIDescription, Operation

_SOURCE_OP = re.compile(r"^\$sourceDescriptions\.([^.]+)\.(.+)$")
_OP_PATH = re.compile(r"^\{?\$sourceDescriptions\.([^.}]+)\.url\}?#(.*)$")


@dataclass(slots=True)
class LoadedSource:
    name: str
    url: str  # absolute (a path for local files, else a URL)
    type: str  # "openapi" | "arazzo" | "asyncapi"
    openapi: OpenAPIDescription | None = None
    arazzo: LoadedDocument | None = None
    raw: Any = None


@dataclass(slots=True)
class LoadedDocument:
    document: ArazzoDocument
    sources: dict[str, LoadedSource] = field(default_factory=dict)
    parsed: Parsed | None = None

    @property
    def openapi_sources(self) -> list[LoadedSource]:
        return [s for s in self.sources.values() if s.openapi is not None]

    def _where(self, step: Step) -> str:
        return str(step.loc)

    def find_operation(self, step: Step) -> tuple[Operation | None, str | None, list[str]]:
        """(operation, error message, candidates) without raising."""
        if step.operation_path is not None:
            return self._by_path(step.operation_path)
        if step.operation_id is not None:
            return self._by_id(step.operation_id)
        return None, "the step has no operationId or operationPath", []

    def resolve_operation(self, step: Step) -> Operation:
        """The OpenAPI operation a step calls; DocumentError listing candidates if unclear."""
        op, error, candidates = self.find_operation(step)
        if op is None:
            hint = f"candidates: {', '.join(candidates)}" if candidates else None
            raise DocumentError(error or "operation not found", where=self._where(step), hint=hint)
        return op

    def _by_id(self, ref: str) -> tuple[Operation | None, str | None, list[str]]:
        match = _SOURCE_OP.match(ref)
        if match:
            name, op_id = match.groups()
            source = self.sources.get(name)
            if source is None:
                return (
                    None,
                    f"unknown source description {name!r} in {ref!r}",
                    [f"$sourceDescriptions.{n}.{op_id}" for n in self.sources],
                )
            if source.openapi is None:
                return None, f"source {name!r} is not an OpenAPI description", []
            op = source.openapi.by_id.get(op_id)
            if op is None:
                close = difflib.get_close_matches(op_id, list(source.openapi.by_id), n=5)
                return (
                    None,
                    f"operationId {op_id!r} not found in source {name!r}",
                    [f"$sourceDescriptions.{name}.{c}" for c in close],
                )
            return op, None, []
        found = [
            s.openapi.by_id[ref]
            for s in self.openapi_sources
            if s.openapi is not None and ref in s.openapi.by_id
        ]
        if len(found) == 1:
            return found[0], None, []
        if found:
            return (
                None,
                f"operationId {ref!r} is ambiguous: it exists in {len(found)} sources",
                [f"$sourceDescriptions.{op.source}.{ref}" for op in found],
            )
        everything = [i for s in self.openapi_sources if s.openapi for i in s.openapi.by_id]
        close = difflib.get_close_matches(ref, everything, n=5)
        names = ", ".join(self.sources) or "none"
        return None, f"operationId {ref!r} not found in any source description ({names})", close

    def _by_path(self, ref: str) -> tuple[Operation | None, str | None, list[str]]:
        match = _OP_PATH.match(ref)
        if not match:
            return (
                None,
                (
                    f"operationPath {ref!r} is not of the form "
                    "'{$sourceDescriptions.<name>.url}#/paths/<escaped path>/<method>'"
                ),
                [],
            )
        name, pointer = match.groups()
        source = self.sources.get(name)
        if source is None or source.openapi is None:
            return (
                None,
                f"operationPath names {name!r}, which is not an OpenAPI source",
                [s.name for s in self.openapi_sources],
            )
        from urllib.parse import unquote

        tokens = [unescape(t) for t in unquote(pointer).split("/")]
        if len(tokens) != 4 or tokens[0] != "" or tokens[1] != "paths":
            return None, f"operationPath pointer {pointer!r} is not '/paths/<path>/<method>'", []
        op = source.openapi.operation_at(tokens[2], tokens[3])
        if op is None:
            paths = sorted({f"{o.method} {o.path}" for o in source.openapi.operations})
            close = difflib.get_close_matches(f"{tokens[3].upper()} {tokens[2]}", paths, n=5)
            return None, f"no operation {tokens[3].upper()} {tokens[2]} in source {name!r}", close
        return op, None, []

    def find_workflow(self, ref: str) -> tuple[LoadedDocument | None, Workflow | None, str]:
        match = _SOURCE_OP.match(ref)
        if match:
            name, wf_id = match.groups()
            source = self.sources.get(name)
            if source is None or source.arazzo is None:
                return None, None, f"{name!r} is not an arazzo source description"
            wf = source.arazzo.document.workflow(wf_id)
            if wf is None:
                return None, None, f"workflow {wf_id!r} not found in source {name!r}"
            return source.arazzo, wf, ""
        wf = self.document.workflow(ref)
        if wf is None:
            return None, None, f"workflow {ref!r} not found in this document"
        return self, wf, ""

    def resolve_workflow(self, ref: str) -> tuple[LoadedDocument, Workflow]:
        """A workflow by local id or ``$sourceDescriptions.<name>.<workflowId>``."""
        doc, wf, error = self.find_workflow(ref)
        if doc is None or wf is None:
            known = [w.workflow_id for w in self.document.workflows]
            raise DocumentError(
                error,
                where=self.document.uri,
                hint=f"known workflows: {', '.join(known)}" if known else None,
            )
        return doc, wf
