"""A loaded Arazzo document with its sources, and resolution of operations and workflows.

Loading is lenient about sources: a source description that cannot be read is recorded as a
:class:`SourceProblem` (and is simply absent from ``sources``), so everything that does not
need it can still be checked; an operation step that needs it fails to resolve, naming the
source and why. ``sources_loaded`` is False when the document was loaded without its sources
(``weft validate --no-sources``): checks that need a source are then skipped, not failed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from weft.document.model import ArazzoDocument, Location, Step, Workflow
from weft.document.parse import Parsed
from weft.errors import DocumentError
from weft.expressions.errors import ExpressionError
from weft.expressions.pointer import parse_pointer

if TYPE_CHECKING:
    from weft.document.positions import SourcePositions
    from weft.openapi.description import OpenAPIDescription, Operation
    from weft.openapi.refs import RefProblem

_SOURCE_OP = re.compile(r"^\$sourceDescriptions\.([^.]+)\.(.+)$")
_OP_PATH = re.compile(r"^(\{?)\$sourceDescriptions\.([^.}]+)\.url(\}?)#(.*)$")


@dataclass(slots=True)
class LoadedSource:
    name: str
    url: str  # absolute (a path for local files, else a URL)
    type: str  # "openapi" | "arazzo" | "asyncapi"
    openapi: OpenAPIDescription | None = None
    arazzo: LoadedDocument | None = None
    raw: Any = None


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A source description that could not be loaded: which, where its url is written, why."""

    name: str
    url: str  # what was tried (absolute)
    location: Location  # the source description's ``url`` field
    what: str
    why: str | None = None
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class OperationLookup:
    """What :meth:`LoadedDocument.find_operation` found.

    ``operation`` when it resolved; otherwise ``error`` (and ``candidates`` when some names are
    close). ``unavailable`` names the source that would tell but is not loaded (an unreadable
    source, or ``--no-sources``): the step cannot be checked, which is not the step's fault.
    """

    operation: Operation | None = None
    error: str | None = None
    candidates: tuple[str, ...] = ()
    unavailable: str | None = None


@dataclass(slots=True)
class LoadedDocument:
    document: ArazzoDocument
    sources: dict[str, LoadedSource] = field(default_factory=dict)
    parsed: Parsed | None = None
    source_problems: list[SourceProblem] = field(default_factory=list)
    sources_loaded: bool = True  # False: loaded without sources (nothing about them is known)
    strict: bool = False  # refuse the compatibility readings (e.g. operationPath without {…})
    positions: SourcePositions | None = None  # lazily finds line:col inside source files

    @property
    def openapi_sources(self) -> list[LoadedSource]:
        return [s for s in self.sources.values() if s.openapi is not None]

    def source_names(self) -> list[str]:
        """The names of the document's source descriptions, in document order."""
        return [sd.name for sd in self.document.source_descriptions if sd.name]

    def missing_source(self, name: str) -> bool:
        """True when source ``name`` is declared but not loaded (unreadable, or not asked for)."""
        declared = any(sd.name == name for sd in self.document.source_descriptions)
        return declared and name not in self.sources

    def _all_loaded(self) -> bool:
        return all(not self.missing_source(n) for n in self.source_names())

    def location_in_source(self, document: str, pointer: str) -> Location:
        """``file:line:col`` of a node inside a source file (parsed with positions on demand)."""
        if self.positions is None:
            return Location(document, 1, 1)
        return self.positions.location(document, pointer)

    def ref_location(self, problem: RefProblem) -> Location:
        return self.location_in_source(problem.document, problem.pointer)

    # -- operations --------------------------------------------------------------------------
    def find_operation(self, step: Step, *, strict: bool | None = None) -> OperationLookup:
        """The operation a step calls, without raising."""
        strict = self.strict if strict is None else strict
        if step.operation_path is not None:
            return self._by_path(step.operation_path, strict)
        if step.operation_id is not None:
            return self._by_id(step.operation_id)
        return OperationLookup(error="the step has no operationId or operationPath")

    def resolve_operation(self, step: Step, *, strict: bool | None = None) -> Operation:
        """The OpenAPI operation a step calls; DocumentError naming why it cannot be used
        (unknown, ambiguous, its source unreadable, or a ``$ref`` it needs that is broken)."""
        found = self.find_operation(step, strict=strict)
        op = found.operation
        if op is None:
            hint = f"candidates: {', '.join(found.candidates)}" if found.candidates else None
            why = None
            if found.unavailable is not None:
                problem = next(
                    (p for p in self.source_problems if p.name == found.unavailable), None
                )
                if problem is not None:
                    why = f"{problem.location}: {problem.what}"
                    if problem.why:
                        why += f" ({problem.why})"
                    hint = problem.hint or hint
            raise DocumentError(
                found.error or "operation not found", where=str(step.loc), why=why, hint=hint
            )
        if op.broken_refs:
            broken = op.broken_refs[0]
            raise DocumentError(
                f"step {step.step_id!r} cannot call {op.label}: its description has a $ref "
                f"that does not resolve",
                where=str(step.loc),
                why=f"{self.ref_location(broken)}: {broken.describe()}",
                hint="fix the reference in the description, or pass a corrected description "
                "with --source NAME=PATH",
            )
        return op

    def _source_for(self, name: str, what: str) -> tuple[LoadedSource | None, OperationLookup]:
        source = self.sources.get(name)
        if source is not None:
            return source, OperationLookup()
        if self.missing_source(name):
            return None, OperationLookup(
                error=f"source description {name!r} is not loaded, so {what} cannot be checked",
                unavailable=name,
            )
        return None, OperationLookup(
            error=f"unknown source description {name!r} in {what}",
            candidates=tuple(self.source_names()),
        )

    def _by_id(self, ref: str) -> OperationLookup:
        match = _SOURCE_OP.match(ref)
        if match:
            name, op_id = match.groups()
            source, failed = self._source_for(name, repr(ref))
            if source is None:
                if failed.candidates:
                    cands = tuple(f"$sourceDescriptions.{n}.{op_id}" for n in failed.candidates)
                    return OperationLookup(error=failed.error, candidates=cands)
                return failed
            if source.openapi is None:
                return OperationLookup(error=f"source {name!r} is not an OpenAPI description")
            if op_id not in source.openapi.ids:
                close = difflib.get_close_matches(op_id, list(source.openapi.ids), n=5)
                return OperationLookup(
                    error=f"operationId {op_id!r} not found in source {name!r}",
                    candidates=tuple(f"$sourceDescriptions.{name}.{c}" for c in close),
                )
            return OperationLookup(operation=source.openapi.by_id[op_id])
        found = [
            s.openapi.by_id[ref]
            for s in self.openapi_sources
            if s.openapi is not None and ref in s.openapi.ids
        ]
        if len(found) == 1:
            return OperationLookup(operation=found[0])
        if found:
            return OperationLookup(
                error=f"operationId {ref!r} is ambiguous: it exists in {len(found)} sources",
                candidates=tuple(f"$sourceDescriptions.{op.source}.{ref}" for op in found),
            )
        if not self._all_loaded():
            missing = [n for n in self.source_names() if self.missing_source(n)]
            return OperationLookup(
                error=f"operationId {ref!r} is not in the loaded sources; "
                f"{', '.join(map(repr, missing))} could not be checked",
                unavailable=missing[0],
            )
        everything = [i for s in self.openapi_sources if s.openapi for i in s.openapi.ids]
        close = difflib.get_close_matches(ref, everything, n=5)
        names = ", ".join(self.sources) or "none"
        return OperationLookup(
            error=f"operationId {ref!r} not found in any source description ({names})",
            candidates=tuple(close),
        )

    def _by_path(self, ref: str, strict: bool) -> OperationLookup:
        match = _OP_PATH.match(ref)
        if not match or (match.group(1) == "{") != (match.group(3) == "}"):
            return OperationLookup(
                error=f"operationPath {ref!r} is not of the form "
                "'{$sourceDescriptions.<name>.url}#/paths/<escaped path>/<method>'"
            )
        braced, name, _, pointer = match.groups()
        if not braced and strict:
            return OperationLookup(
                error=f"operationPath {ref!r} writes the source expression without braces "
                "(strict mode reads only the specification's form)",
                candidates=(f"{{$sourceDescriptions.{name}.url}}#{pointer}",),
            )
        source, failed = self._source_for(name, f"operationPath {ref!r}")
        if source is None:
            return failed
        if source.openapi is None:
            return OperationLookup(
                error=f"operationPath names {name!r}, which is not an OpenAPI source",
                candidates=tuple(s.name for s in self.openapi_sources),
            )
        try:
            tokens, _ = parse_pointer(unquote(pointer))
        except ExpressionError as exc:
            return OperationLookup(error=f"operationPath pointer {pointer!r}: {exc.message}")
        if len(tokens) != 3 or tokens[0] != "paths":
            return OperationLookup(
                error=f"operationPath pointer {pointer!r} is not '/paths/<path>/<method>'"
            )
        op = source.openapi.operation_at(tokens[1], tokens[2])
        if op is None:
            paths = sorted({f"{m} {p}" for p, m in source.openapi.operation_keys()})
            close = difflib.get_close_matches(f"{tokens[2].upper()} {tokens[1]}", paths, n=5)
            return OperationLookup(
                error=f"no operation {tokens[2].upper()} {tokens[1]} in source {name!r}",
                candidates=tuple(close),
            )
        return OperationLookup(operation=op)

    # -- workflows ---------------------------------------------------------------------------
    def find_workflow(self, ref: str) -> tuple[LoadedDocument | None, Workflow | None, str]:
        """(document, workflow, "") or (None, None, why). See :meth:`workflow_unavailable`."""
        match = _SOURCE_OP.match(ref)
        if match:
            name, wf_id = match.groups()
            source = self.sources.get(name)
            if source is None or source.arazzo is None:
                if self.missing_source(name):
                    return None, None, f"source description {name!r} is not loaded"
                return None, None, f"{name!r} is not an arazzo source description"
            wf = source.arazzo.document.workflow(wf_id)
            if wf is None:
                return None, None, f"workflow {wf_id!r} not found in source {name!r}"
            return source.arazzo, wf, ""
        wf = self.document.workflow(ref)
        if wf is None:
            return None, None, f"workflow {ref!r} not found in this document"
        return self, wf, ""

    def workflow_unavailable(self, ref: str) -> bool:
        """True when ``ref`` names a workflow of a source that is not loaded (cannot tell)."""
        match = _SOURCE_OP.match(ref)
        return match is not None and self.missing_source(match.group(1))

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


def source_names(loaded: LoadedDocument) -> list[str]:
    """The names of a document's source descriptions (for "no source named X; known: ...")."""
    return loaded.source_names()
