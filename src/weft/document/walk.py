"""Walking a document's objects with Reusable Objects resolved (shared by validation and lint)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from weft.document import model as m

_COMPONENT = re.compile(r"^\$components\.([A-Za-z]+)\.(.+)$")


def component_ref(reference: str) -> tuple[str, str] | None:
    """``$components.parameters.page`` -> ("parameters", "page")."""
    match = _COMPONENT.match(reference)
    return (match.group(1), match.group(2)) if match else None


def input_schema(doc: m.ArazzoDocument, schema: Any) -> Any:
    """A workflow's inputs schema (or one property's), following ``$ref`` to
    ``#/components/inputs/<name>`` (a few hops at most); other schemas as they are."""
    for _ in range(8):
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if not isinstance(ref, str) or not ref.startswith("#/components/inputs/"):
            return schema
        schema = doc.components.inputs.get(ref[len("#/components/inputs/") :])
    return schema


def resolve_parameter(
    doc: m.ArazzoDocument, item: m.Parameter | m.ReusableRef
) -> m.Parameter | None:
    if isinstance(item, m.Parameter):
        return item
    ref = component_ref(item.reference)
    if ref is None or ref[0] != "parameters":
        return None
    param = doc.components.parameters.get(ref[1])
    if param is None:
        return None
    if item.has_value:
        return replace(param, value=item.value, loc=item.loc, pointer=item.pointer)
    return param


def resolve_action(doc: m.ArazzoDocument, item: Any, success: bool) -> Any:
    """A Success/Failure Action, resolving a Reusable Object (None if it does not resolve)."""
    if not isinstance(item, m.ReusableRef):
        return item
    ref = component_ref(item.reference)
    kind = "successActions" if success else "failureActions"
    if ref is None or ref[0] != kind:
        return None
    table = doc.components.success_actions if success else doc.components.failure_actions
    return table.get(ref[1])


def step_actions(
    doc: m.ArazzoDocument, wf: m.Workflow, step: m.Step
) -> Iterator[tuple[bool, Any, Any]]:
    """(is_success, written item, resolved action or None) for a step's effective actions."""
    success = step.on_success if step.on_success is not None else wf.success_actions
    failure = step.on_failure if step.on_failure is not None else wf.failure_actions
    for s_item in success:
        yield True, s_item, resolve_action(doc, s_item, True)
    for f_item in failure:
        yield False, f_item, resolve_action(doc, f_item, False)


def effective_parameters(doc: m.ArazzoDocument, wf: m.Workflow, step: m.Step) -> list[m.Parameter]:
    """Workflow-level then step-level parameters, the step's overriding the same (name, in)."""
    merged: dict[tuple[str, str | None], m.Parameter] = {}
    for item in [*wf.parameters, *step.parameters]:
        param = resolve_parameter(doc, item)
        if param is not None:
            merged[(param.name, param.in_)] = param
    return list(merged.values())


def iter_criteria(doc: m.ArazzoDocument) -> Iterator[m.Criterion]:
    for wf in doc.workflows:
        for step in wf.steps:
            yield from step.success_criteria
            for action in [*(step.on_success or []), *(step.on_failure or [])]:
                if not isinstance(action, m.ReusableRef):
                    yield from action.criteria
        for action in [*wf.success_actions, *wf.failure_actions]:
            if not isinstance(action, m.ReusableRef):
                yield from action.criteria
    for s_action in doc.components.success_actions.values():
        yield from s_action.criteria
    for f_action in doc.components.failure_actions.values():
        yield from f_action.criteria


def iter_parameters(doc: m.ArazzoDocument) -> Iterator[m.Parameter | m.ReusableRef]:
    for wf in doc.workflows:
        yield from wf.parameters
        for step in wf.steps:
            yield from step.parameters
            for action in [*(step.on_success or []), *(step.on_failure or [])]:
                if not isinstance(action, m.ReusableRef):
                    yield from action.parameters
        for action in [*wf.success_actions, *wf.failure_actions]:
            if not isinstance(action, m.ReusableRef):
                yield from action.parameters
    yield from doc.components.parameters.values()


_STEP_REF = re.compile(r"\$steps\.([A-Za-z0-9_\-]+)\.")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name not in ("loc", "pointer", "extensions", "field_locs"):
                yield from _strings(getattr(value, f.name))


def referenced_steps(step: m.Step) -> set[str]:
    """Step ids whose outputs the step reads before it runs (parameters, body, criteria)."""
    found: set[str] = set()
    for part in (step.parameters, step.request_body, step.success_criteria):
        for text in _strings(part):
            found.update(_STEP_REF.findall(text))
    found.discard(step.step_id)
    return found


def reachable(graph: Mapping[int, Iterable[int]], start: int) -> set[int]:
    """The nodes a path of one or more edges leads to from ``start`` (steps by index)."""
    seen: set[int] = set()
    stack = list(graph[start])
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(graph[node])
    return seen
