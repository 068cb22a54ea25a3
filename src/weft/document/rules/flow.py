"""Control-flow rules: self-polling without pacing, unreachable steps, loops with no exit, and
outputs read from a step that cannot have run yet."""

from __future__ import annotations

from typing import Any

from weft.document import model as m
from weft.document.diagnostics import Diagnostic, Edit
from weft.document.loaded import LoadedDocument
from weft.document.walk import reachable, referenced_steps, step_actions

PACE = "x-weft-pace"
# weft's default pacing schedule (weft.engine.pacing): writing it out changes nothing for weft
DEFAULT_PACE = "1,2,5,10,15,30"


def check(loaded: LoadedDocument) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for wf in loaded.document.workflows:
        out += _polls(loaded, wf)
        out += _graph_rules(loaded, wf)
    return out


def _polls(loaded: LoadedDocument, wf: m.Workflow) -> list[Diagnostic]:
    out = []
    for step in wf.steps:
        for success, item, action in step_actions(loaded.document, wf, step):
            if action is None or action.type != "goto" or action.step_id != step.step_id:
                continue
            if PACE in step.extensions or PACE in action.extensions:
                continue
            kind = "onSuccess" if success else "onFailure"
            out.append(
                Diagnostic(
                    "arazzo/unbounded-poll",
                    "warning",
                    f"step {step.step_id!r} jumps back to itself ({kind} {action.name!r}) with no "
                    "delay and no bound: it re-sends the request as fast as the server answers, "
                    "for as long as the criteria hold",
                    item.loc if isinstance(item, m.ReusableRef) else action.loc,
                    f"pace it: add `{PACE}: {DEFAULT_PACE}` to the step (weft's pacing extension, "
                    "its default schedule written out: other runners see the intent), and bound "
                    "it: express the wait as an onFailure action `{type: retry, retryAfter: 5, "
                    "retryLimit: 60}` with successCriteria that require a terminal status",
                    Edit(step.pointer, DEFAULT_PACE, key=PACE),
                )
            )
    return out


def _edges(loaded: LoadedDocument, wf: m.Workflow, index: int) -> tuple[set[int], bool]:
    """(successor step indexes, whether this step can end the workflow successfully)."""
    step = wf.steps[index]
    succ: set[int] = set()
    ends = False
    falls_through = True
    for success, _, action in step_actions(loaded.document, wf, step):
        if action is None:
            continue
        unconditional = not action.criteria
        if action.type == "end":
            ends = ends or success
        elif action.type == "goto" and action.step_id is not None:
            target = wf.step_index(action.step_id)
            if target is not None:
                succ.add(target)
        elif action.type == "goto" and action.workflow_id is not None:
            ends = True  # control leaves to another workflow
        elif action.type == "retry":
            succ.add(index)
        if success and unconditional and action.type in ("end", "goto"):
            falls_through = False
    if falls_through:
        if index + 1 < len(wf.steps):
            succ.add(index + 1)
        else:
            ends = True
    return succ, ends


def _graph_rules(loaded: LoadedDocument, wf: m.Workflow) -> list[Diagnostic]:
    n = len(wf.steps)
    if n == 0 or len({s.step_id for s in wf.steps}) != n:
        return []
    graph: dict[int, set[int]] = {}
    exits: dict[int, bool] = {}
    for i in range(n):
        graph[i], exits[i] = _edges(loaded, wf, i)
    out = []
    seen = {0}
    stack = [0]
    while stack:
        for j in graph[stack.pop()]:
            if j not in seen:
                seen.add(j)
                stack.append(j)
    for i, step in enumerate(wf.steps):
        if i not in seen:
            out.append(
                Diagnostic(
                    "arazzo/unreachable-step",
                    "warning",
                    f"step {step.step_id!r} is never reached: the step before it always ends or "
                    "jumps elsewhere, and no goto targets it",
                    step.at("stepId"),
                    "add a goto to it, or remove the step",
                )
            )
    out += _reads_before_run(wf, graph)
    for component in _sccs(graph):
        cyclic = len(component) > 1 or next(iter(component)) in graph[next(iter(component))]
        if not cyclic:
            continue
        leaves = any(exits[i] or any(j not in component for j in graph[i]) for i in component)
        if not leaves:
            names = [wf.steps[i].step_id for i in sorted(component)]
            first = wf.steps[min(component)]
            out.append(
                Diagnostic(
                    "arazzo/goto-cycle-no-exit",
                    "warning",
                    f"steps {names} form a goto loop with no way out except failure: no action "
                    "ends the workflow or jumps outside the loop",
                    first.at("stepId"),
                    "add an onSuccess action with criteria that ends (type: end) or jumps past the "
                    "loop",
                )
            )
    return out


def _sccs(graph: dict[int, set[int]]) -> list[set[int]]:
    """Strongly connected components (Tarjan, iterative)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    result: list[set[int]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[int, Any]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.add(x)
                    if x == node:
                        break
                result.append(comp)
    return result


def _reach_bits(graph: dict[int, set[int]]) -> dict[int, int]:
    """For each step, the steps a path of one or more edges reaches, as a bit set (an int).

    Linear in the graph (times n/64 for the bit operations), where asking ``reachable`` once
    per reference was quadratic on long workflows: strongly connected components come out of
    :func:`_sccs` sinks first, so each component's set is built from finished successors.
    """
    reach: dict[int, int] = {}
    for component in _sccs(graph):
        bits = 0
        cyclic = len(component) > 1
        for v in component:
            for w in graph[v]:
                if w in component:
                    cyclic = True
                else:
                    bits |= (1 << w) | reach[w]
        if cyclic:
            for v in component:
                bits |= 1 << v
        for v in component:
            reach[v] = bits
    return reach


def _reads_before_run(wf: m.Workflow, graph: dict[int, set[int]]) -> list[Diagnostic]:
    """A step reading ``$steps.X.outputs`` where no path runs X before it (1.1: a forward
    reference a sequential runner cannot satisfy). Workflows using step ``dependsOn`` are
    reordered by weft to satisfy such references, so they are left out."""
    if any(s.depends_on for s in wf.steps):
        return []
    index = {s.step_id: i for i, s in enumerate(wf.steps)}
    runs = {0} | reachable(graph, 0)
    reach = _reach_bits(graph)
    out = []
    for i, step in enumerate(wf.steps):
        for ref in sorted(referenced_steps(step)):
            j = index.get(ref)
            if j is None or (j in runs and reach[j] >> i & 1):
                continue
            later = "appears later in the steps array and " if j > i else ""
            out.append(
                Diagnostic(
                    "arazzo/output-read-before-run",
                    "warning",
                    f"step {step.step_id!r} reads the outputs of step {ref!r}, which {later}"
                    f"never runs before it: the expression has no value",
                    step.at("stepId"),
                    f"move step {ref!r} before {step.step_id!r}, or (Arazzo 1.1) add "
                    f"`dependsOn: [{ref}]` to step {step.step_id!r}",
                )
            )
    return out
