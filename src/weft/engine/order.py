"""The order a workflow's steps run in when steps declare ``dependsOn`` (Arazzo 1.1).

Step-level ``dependsOn`` never makes a step run by itself: a sequential runner runs the steps in
an order that satisfies every declared dependency and every implicit one (a step reading
``$steps.<id>.outputs`` of another step of the same workflow). The order is the steps array
order wherever the dependencies allow it: a step moves only as far as it must.

Pure: it reads the document model only.
"""

from __future__ import annotations

import heapq

from weft.document import model as m
from weft.document.walk import reachable, referenced_steps


def execution_order(steps: list[m.Step]) -> list[int]:
    """Indexes of ``steps`` in the order to run them (``range(len(steps))`` without dependsOn).

    Declared local dependencies always count; an implicit one counts unless it would close a
    cycle (a goto loop may legitimately read a later step's outputs). Among the steps that are
    ready, the earliest in the array runs first. A declared cycle (a validation error) leaves
    the rest in array order.
    """
    if not any(s.depends_on for s in steps):
        return list(range(len(steps)))
    index = {s.step_id: i for i, s in enumerate(steps)}
    before: dict[int, set[int]] = {i: set() for i in range(len(steps))}  # i needs these first
    for i, step in enumerate(steps):
        for dep in step.depends_on:
            j = index.get(dep)
            if j is not None and j != i:
                before[i].add(j)
    for i, step in enumerate(steps):
        for ref in sorted(referenced_steps(step)):
            j = index.get(ref)
            if j is not None and j not in before[i] and i not in reachable(before, j):
                before[i].add(j)
    waiting = {i: len(deps) for i, deps in before.items()}
    after: dict[int, list[int]] = {i: [] for i in range(len(steps))}
    for i, deps in before.items():
        for j in deps:
            after[j].append(i)
    ready = [i for i, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for k in after[i]:
            waiting[k] -= 1
            if waiting[k] == 0:
                heapq.heappush(ready, k)
    placed = set(order)
    order.extend(i for i in range(len(steps)) if i not in placed)
    return order
