"""The fast paths of loading give the same results as the careful ones (no timings here: speed
is measured by bench/bench_validate.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.document.helpers import GET_PET, PETS_OPENAPI, arazzo, write
from weft.document import load
from weft.document.parse import parse_bytes
from weft.document.rules.flow import _reach_bits
from weft.document.walk import reachable

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.text(alphabet="ab &*:-#'{}[],0123456789\n\"", max_size=12)
)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet="abc_&*", min_size=1, max_size=5), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(tree=_TREES)
def test_plain_parse_matches_positions_parse_and_pyyaml(tree: object) -> None:
    data = yaml.safe_dump({"root": tree}).encode()
    plain = parse_bytes(data, "t.yaml", positions=False).data
    assert plain == parse_bytes(data, "t.yaml").data == yaml.safe_load(data)


def test_aliases_still_expand_and_the_collector_is_restored() -> None:
    text = b"base: &b {x: 1, y: [1, 2]}\nother: *b\nmerged: {<<: *b, y: 3}\n"
    assert gc.isenabled()
    parsed = parse_bytes(text, "t.yaml", positions=False).data
    assert gc.isenabled()
    assert parsed == {"base": {"x": 1, "y": [1, 2]}, "other": {"x": 1, "y": [1, 2]},
                      "merged": {"x": 1, "y": 3}}  # fmt: skip
    gc.disable()
    try:
        parse_bytes(text, "t.yaml")
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()


def test_field_locations_are_looked_up_on_demand(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, arazzo([GET_PET])))
    step = loaded.document.workflows[0].steps[0]
    assert step.at("operationId").line == step.loc.line + 1
    assert "operationId" in step.field_locs and "nothing" not in step.field_locs
    assert set(step.field_locs) == set(GET_PET)
    assert step.at("nothing") == step.loc


def test_operations_are_resolved_only_when_asked_for(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, arazzo([GET_PET]), openapi=PETS_OPENAPI))
    desc = loaded.sources["pets"].openapi
    assert desc is not None and desc.built == {}
    assert set(desc.ids) == {"getPet", "addPet"}
    op = loaded.resolve_operation(loaded.document.workflows[0].steps[0])
    assert list(desc.built) == [("/pets/{petId}", "GET")]
    assert desc.operation_at("/pets/{petId}", "get") is op


@settings(max_examples=200, deadline=None)
@given(
    edges=st.dictionaries(
        st.integers(0, 11), st.sets(st.integers(0, 11), max_size=3), min_size=12, max_size=12
    )
)
def test_reach_bits_agree_with_reachable(edges: dict[int, set[int]]) -> None:
    graph = {i: edges.get(i, set()) for i in range(12)}
    bits = _reach_bits(graph)
    for node in graph:
        assert {j for j in graph if bits[node] >> j & 1} == reachable(graph, node)


def test_version_does_not_import_click() -> None:
    code = (
        "import sys\n"
        "from weft.cli import main\n"
        "assert main(['--version']) == 0\n"
        "assert 'click' not in sys.modules and 'typing' not in sys.modules, sorted(sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("weft, version ")
