"""execution_order: the step order when steps use dependsOn (pure; hypothesis-checked)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from weft.document import model as m
from weft.document.walk import referenced_steps
from weft.engine.order import execution_order


def _step(step_id: str, deps: list[str] = (), reads: list[str] = ()) -> m.Step:  # type: ignore[assignment]
    params = [
        m.Parameter(name=f"p{i}", in_="query", value=f"x-{{$steps.{r}.outputs.v}}")
        for i, r in enumerate(reads)
    ]
    return m.Step(step_id=step_id, operation_id="op", depends_on=list(deps), parameters=params)


def test_without_depends_on_the_array_order_is_kept_even_with_forward_references() -> None:
    steps = [_step("a", reads=["c"]), _step("b"), _step("c")]
    assert execution_order(steps) == [0, 1, 2]


def test_a_step_moves_only_as_far_as_its_dependencies_require() -> None:
    steps = [_step("a", deps=["d"]), _step("b"), _step("c"), _step("d")]
    assert execution_order(steps) == [1, 2, 3, 0]


def test_implicit_references_count_unless_they_close_a_cycle() -> None:
    # b reads d's outputs (implicit), d depends on b (declared): the declared edge wins
    steps = [_step("a", deps=["c"]), _step("b", reads=["d"]), _step("c"), _step("d", deps=["b"])]
    order = [steps[i].step_id for i in execution_order(steps)]
    assert order == ["b", "c", "a", "d"]


def test_referenced_steps_reads_parameters_body_and_criteria_not_itself() -> None:
    step = m.Step(
        step_id="s",
        operation_id="op",
        parameters=[m.Parameter(name="q", in_="query", value="$steps.a.outputs.x")],
        request_body=m.RequestBody(payload={"k": ["{$steps.b.outputs.y}"]}),
        success_criteria=[m.Criterion(condition="$steps.c.outputs.ok == true")],
        outputs={"mine": "$steps.s.outputs.z"},
    )
    assert referenced_steps(step) == {"a", "b", "c"}


@st.composite
def _workflows(draw: st.DrawFn) -> list[m.Step]:
    n = draw(st.integers(1, 9))
    ids = [f"s{i}" for i in range(n)]
    # declared dependencies form a DAG over a random permutation (validation rejects cycles)
    rank = draw(st.permutations(range(n)))
    steps = []
    for i in range(n):
        lower = [ids[j] for j in range(n) if rank[j] < rank[i]]
        deps = draw(st.lists(st.sampled_from(lower), unique=True)) if lower else []
        reads = draw(st.lists(st.sampled_from(ids), max_size=3))
        steps.append(_step(ids[i], deps=deps, reads=reads))
    return steps


@given(_workflows())
def test_every_declared_dependency_runs_first_and_every_step_once(steps: list[m.Step]) -> None:
    order = execution_order(steps)
    assert sorted(order) == list(range(len(steps)))
    position = {steps[i].step_id: p for p, i in enumerate(order)}
    for step in steps:
        for dep in step.depends_on:
            assert position[dep] < position[step.step_id]
    if not any(s.depends_on for s in steps):
        assert order == list(range(len(steps)))
