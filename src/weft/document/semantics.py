"""Validation the schema cannot see: identifiers, references, targets, expressions, cycles."""

from __future__ import annotations

import re
from typing import Any

from weft.document import model as m
from weft.document.diagnostics import Diagnostic, Severity
from weft.document.loaded import LoadedDocument
from weft.document.walk import (
    component_ref,
    iter_parameters,
    resolve_action,
    resolve_parameter,
)

OUTPUT_NAME = re.compile(r"^[a-zA-Z0-9.\-_]+$")
_WF_STEP = re.compile(r"^\$workflows\.([^.]+)\.steps\.([^.]+)$")
_SRC_STEP = re.compile(r"^\$sourceDescriptions\.([^.]+)\.([^.]+)\.steps\.([^.]+)$")


class Semantics:
    def __init__(self, loaded: LoadedDocument, strict: bool = False) -> None:
        self.loaded = loaded
        self.doc = loaded.document
        self.strict = strict
        self.out: list[Diagnostic] = []

    def _no_workflow(self, ref: str) -> tuple[bool, str]:
        """(True, why) when ``ref`` names no workflow; False when it does or cannot be told
        (its source is not loaded)."""
        _, target, error = self.loaded.find_workflow(ref)
        if target is not None or self.loaded.workflow_unavailable(ref):
            return False, ""
        return True, error

    def add(
        self,
        rule: str,
        loc: m.Location,
        message: str,
        fix: str | None = None,
        severity: Severity = "error",
    ) -> None:
        self.out.append(Diagnostic(rule, severity, message, loc, fix))

    def run(self) -> list[Diagnostic]:
        self.unique_ids()
        self.components()
        for wf in self.doc.workflows:
            self.workflow(wf)
        self.workflow_dependencies()
        return self.out

    # -- identifiers -------------------------------------------------------------------------
    def unique_ids(self) -> None:
        seen: dict[str, m.Node] = {}
        for sd in self.doc.source_descriptions:
            if sd.name in seen:
                self.add(
                    "arazzo/duplicate-source-name",
                    sd.at("name"),
                    f"source description name {sd.name!r} is used twice "
                    f"(first at line {seen[sd.name].loc.line})",
                    "rename one of them",
                )
            seen[sd.name] = sd
        wfs: dict[str, m.Workflow] = {}
        for wf in self.doc.workflows:
            if wf.workflow_id in wfs:
                self.add(
                    "arazzo/duplicate-workflow-id",
                    wf.at("workflowId"),
                    f"workflowId {wf.workflow_id!r} is used twice "
                    f"(first at line {wfs[wf.workflow_id].loc.line})",
                    "rename one of them",
                )
            wfs[wf.workflow_id] = wf
            steps: dict[str, m.Step] = {}
            for step in wf.steps:
                if step.step_id in steps:
                    self.add(
                        "arazzo/duplicate-step-id",
                        step.at("stepId"),
                        f"stepId {step.step_id!r} is used twice in workflow "
                        f"{wf.workflow_id!r} (first at line {steps[step.step_id].loc.line})",
                        "rename one of them",
                    )
                steps[step.step_id] = step

    # -- workflows and steps -----------------------------------------------------------------
    def workflow(self, wf: m.Workflow) -> None:
        self.outputs(wf.outputs, wf)
        self.unique_params(wf.parameters, wf)
        self.inputs_refs(wf)
        for s_item in wf.success_actions:
            self.action(wf, None, s_item, True)
        for f_item in wf.failure_actions:
            self.action(wf, None, f_item, False)
        for step in wf.steps:
            self.step(wf, step)
        self.step_dependencies(wf)

    def step(self, wf: m.Workflow, step: m.Step) -> None:
        self.outputs(step.outputs, step)
        params = self.unique_params(step.parameters, step)
        is_operation = step.operation_id is not None or step.operation_path is not None
        is_async = step.channel_path is not None or step.action is not None
        if is_operation and not is_async:
            for p in params:
                if p.in_ is None:
                    self.add(
                        "arazzo/parameter-in-missing",
                        p.loc,
                        f"parameter {p.name!r} of an operation step needs 'in'",
                        "add in: path | query | header | cookie",
                    )
            self.operation(wf, step)
        if step.workflow_id is not None:
            missing, error = self._no_workflow(step.workflow_id)
            if missing:
                self.add(
                    "arazzo/unknown-workflow", step.at("workflowId"), error, self._known_workflows()
                )
        for s_item in step.on_success or []:
            self.action(wf, step, s_item, True)
        for f_item in step.on_failure or []:
            self.action(wf, step, f_item, False)

    def _known_workflows(self) -> str | None:
        ids = [w.workflow_id for w in self.doc.workflows]
        return f"known workflows: {', '.join(ids)}" if ids else None

    def operation(self, wf: m.Workflow, step: m.Step) -> None:
        if not self.loaded.sources_loaded:
            return  # operations live in the sources: not checked without them (--no-sources)
        field = "operationPath" if step.operation_path is not None else "operationId"
        ref = step.operation_id or ""
        match = re.match(r"^\$sourceDescriptions\.([^.]+)\.", ref)
        if match:
            source = self.loaded.sources.get(match.group(1))
            if source is not None and source.type == "asyncapi":
                return
        if (
            not self.loaded.openapi_sources
            and field == "operationId"
            and not match
            and any(s.type == "asyncapi" for s in self.loaded.sources.values())
        ):
            return
        found = self.loaded.find_operation(step, strict=self.strict)
        op = found.operation
        if op is None:
            if found.unavailable is not None:
                return  # its source is not loaded: reported once, at the source
            error, candidates = found.error or "operation not found", found.candidates
            ambiguous = "ambiguous" in error
            rule = "arazzo/ambiguous-operation" if ambiguous else "arazzo/unresolved-operation"
            fix = None
            if candidates:
                fix = ("use one of: " if ambiguous else "did you mean: ") + ", ".join(candidates)
            self.add(rule, step.at(field), error, fix)
            return
        for problem in op.broken_refs:
            self.add(
                "arazzo/operation-broken-ref",
                step.at(field),
                f"step {step.step_id!r} calls {op.label}, whose {problem.describe()} "
                f"(at {self.loaded.ref_location(problem)}): the request cannot be built",
                "fix the reference in the description, or pass a corrected description with "
                "--source NAME=PATH",
            )
        supplied = {
            (p.name, p.in_)
            for item in [*wf.parameters, *step.parameters]
            if (p := resolve_parameter(self.doc, item)) is not None
        }
        for param in op.parameters:
            if param.in_ == "path" and (param.name, "path") not in supplied:
                self.add(
                    "arazzo/missing-path-parameter",
                    step.at(field),
                    f"path parameter {param.name!r} of {op.method} {op.path} is not supplied",
                    f"add a parameter: {{name: {param.name}, in: path, value: ...}}",
                )

    def unique_params(
        self, items: list[m.Parameter | m.ReusableRef], owner: m.Node
    ) -> list[m.Parameter]:
        seen: dict[tuple[str, str | None], m.Parameter] = {}
        out: list[m.Parameter] = []
        for item in items:
            param = resolve_parameter(self.doc, item)
            if param is None:
                continue  # reported by components()
            key = (param.name, param.in_)
            if key in seen:
                where = f" in {param.in_}" if param.in_ else ""
                self.add(
                    "arazzo/duplicate-parameter",
                    item.loc,
                    f"parameter {param.name!r}{where} is given twice "
                    f"(first at line {seen[key].loc.line})",
                    "remove one of them",
                )
            seen[key] = param
            out.append(param)
        return out

    def outputs(self, outputs: dict[str, Any], owner: m.Node) -> None:
        for name in outputs:
            if not OUTPUT_NAME.match(str(name)):
                fixed = re.sub(r"[^a-zA-Z0-9.\-_]", "_", str(name))
                self.add(
                    "arazzo/output-name",
                    owner.at("outputs"),
                    f"output name {name!r} must match ^[a-zA-Z0-9.\\-_]+$",
                    f"rename it to {fixed!r}",
                )

    def action(self, wf: m.Workflow, step: m.Step | None, item: Any, success: bool) -> None:
        action = resolve_action(self.doc, item, success)
        if action is None:
            return  # an unresolved Reusable Object: reported by components()
        if action.type not in ("goto", "retry"):
            return
        where = item.loc if isinstance(item, m.ReusableRef) else None
        if action.step_id is not None:
            if wf.step(action.step_id) is None:
                known = ", ".join(s.step_id for s in wf.steps)
                self.add(
                    "arazzo/unknown-target",
                    where or action.at("stepId"),
                    f"{action.type} target step {action.step_id!r} is not a step of "
                    f"workflow {wf.workflow_id!r}",
                    f"steps: {known}",
                )
        elif action.workflow_id is not None:
            missing, error = self._no_workflow(action.workflow_id)
            if missing:
                self.add(
                    "arazzo/unknown-target",
                    where or action.at("workflowId"),
                    error,
                    self._known_workflows(),
                )

    # -- components and references -----------------------------------------------------------
    def components(self) -> None:
        comps = self.doc.components
        tables: dict[str, dict[str, Any]] = {
            "parameters": comps.parameters,
            "successActions": comps.success_actions,
            "failureActions": comps.failure_actions,
            "inputs": comps.inputs,
        }
        refs: list[tuple[m.ReusableRef, tuple[str, ...]]] = []
        for item in iter_parameters(self.doc):
            if isinstance(item, m.ReusableRef):
                refs.append((item, ("parameters",)))
        for wf in self.doc.workflows:
            lists: list[tuple[list[Any], str]] = [
                (wf.success_actions, "successActions"),
                (wf.failure_actions, "failureActions"),
            ]
            for step in wf.steps:
                lists += [
                    (step.on_success or [], "successActions"),
                    (step.on_failure or [], "failureActions"),
                ]
            for items, kind in lists:
                refs += [(i, (kind,)) for i in items if isinstance(i, m.ReusableRef)]
        for ref, kinds in refs:
            parsed = component_ref(ref.reference)
            if parsed is None:
                self.add(
                    "arazzo/unresolved-reference",
                    ref.at("reference"),
                    f"reference {ref.reference!r} is not $components.<kind>.<name>",
                    f"write $components.{kinds[0]}.<name>",
                )
                continue
            kind, name = parsed
            if kind not in kinds:
                self.add(
                    "arazzo/unresolved-reference",
                    ref.at("reference"),
                    f"reference {ref.reference!r} points at {kind}, but {kinds[0]} "
                    "are expected here",
                )
            elif name not in tables.get(kind, {}):
                known = ", ".join(tables.get(kind, {})) or "none"
                self.add(
                    "arazzo/unresolved-reference",
                    ref.at("reference"),
                    f"reference {ref.reference!r}: there is no components.{kind}.{name}",
                    f"defined {kind}: {known}",
                )
            elif ref.has_value and kind != "parameters":
                self.add(
                    "arazzo/reference-value",
                    ref.at("value"),
                    "'value' only applies to references to parameters",
                )

    def inputs_refs(self, wf: m.Workflow) -> None:
        stack: list[Any] = [wf.inputs]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref.startswith("#/components/inputs/"):
                    name = ref[len("#/components/inputs/") :]
                    if name not in self.doc.components.inputs:
                        self.add(
                            "arazzo/unresolved-reference",
                            wf.at("inputs"),
                            f"inputs $ref {ref!r} points at nothing",
                            f"define components.inputs.{name}",
                        )
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)

    # -- dependencies ------------------------------------------------------------------------
    def workflow_dependencies(self) -> None:
        graph: dict[str, list[str]] = {}
        for wf in self.doc.workflows:
            deps = []
            for dep in wf.depends_on:
                missing, error = self._no_workflow(dep)
                if missing:
                    self.add(
                        "arazzo/unknown-dependency",
                        wf.at("dependsOn"),
                        error,
                        self._known_workflows(),
                    )
                else:
                    local = self._local_workflow(dep)
                    if local is not None:
                        deps.append(local)
            graph[wf.workflow_id] = deps
        for cycle in _cycles(graph):
            cyc_wf = self.doc.workflow(cycle[0])
            assert cyc_wf is not None
            self.add(
                "arazzo/dependency-cycle",
                cyc_wf.at("dependsOn"),
                f"workflows depend on each other in a cycle: {' -> '.join(cycle)}",
                "remove one of the dependsOn entries",
            )

    def _local_workflow(self, ref: str) -> str | None:
        """The id of a workflow of this very document that ``ref`` names (a local id, or
        ``$sourceDescriptions.<name>.<id>`` of a source that is this document), else None."""
        doc, target, _ = self.loaded.find_workflow(ref)
        if target is None or doc is None or doc.document is not self.doc:
            return None
        return target.workflow_id

    def step_dependencies(self, wf: m.Workflow) -> None:
        graph: dict[str, list[str]] = {}
        for step in wf.steps:
            deps = []
            for dep in step.depends_on:
                if dep.startswith("$"):
                    ok = self._external_step(dep)
                    if not ok:
                        self.add(
                            "arazzo/unknown-dependency",
                            step.at("dependsOn"),
                            f"dependsOn {dep!r} does not name an existing step",
                        )
                elif wf.step(dep) is None:
                    self.add(
                        "arazzo/unknown-dependency",
                        step.at("dependsOn"),
                        f"dependsOn {dep!r} is not a step of workflow {wf.workflow_id!r}",
                    )
                else:
                    deps.append(dep)
            graph[step.step_id] = deps
        for cycle in _cycles(graph):
            cyc_step = wf.step(cycle[0])
            assert cyc_step is not None
            self.add(
                "arazzo/dependency-cycle",
                cyc_step.at("dependsOn"),
                f"steps depend on each other in a cycle: {' -> '.join(cycle)}",
                "remove one of the dependsOn entries",
            )

    def _external_step(self, dep: str) -> bool:
        match = _WF_STEP.match(dep)
        if match:
            wf = self.doc.workflow(match.group(1))
            return wf is not None and wf.step(match.group(2)) is not None
        match = _SRC_STEP.match(dep)
        if match:
            if self.loaded.missing_source(match.group(1)):
                return True  # not loaded: cannot tell
            source = self.loaded.sources.get(match.group(1))
            if source is None or source.arazzo is None:
                return False
            wf = source.arazzo.document.workflow(match.group(2))
            return wf is not None and wf.step(match.group(3)) is not None
        return False


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """One representative cycle per strongly connected loop (iterative DFS)."""
    color: dict[str, int] = {}
    cycles: list[list[str]] = []
    for root in graph:
        if color.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                color[node] = 1
                path.append(node)
            children = graph.get(node, [])
            if i < len(children):
                stack.append((node, i + 1))
                child = children[i]
                if color.get(child) == 1:
                    cycles.append([*path[path.index(child) :], child])
                elif not color.get(child):
                    stack.append((child, 0))
            else:
                color[node] = 2
                path.pop()
    return cycles
