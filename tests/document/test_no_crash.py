"""No input crashes validate, lint, describe or --fix: findings or one clear error, exit 0/1/2.

A hypothesis fuzz test mutates the seed, the Civitai bundle and the reference examples (delete,
replace, retype nodes; bad expressions) and runs each result through the library and the CLI.
A corpus with one document per finding runs through ``weft validate`` and ``weft lint``.
"""

from __future__ import annotations

import contextlib
import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED
from tests.document.helpers import GET_PET, PETS_OPENAPI, arazzo, write
from weft.cli import cli
from weft.document import lint, load, validate
from weft.document.describe import describe, render_description
from weft.document.fetch import default_fetch
from weft.document.fixing import fix_text
from weft.errors import WeftError

REPO = Path(__file__).resolve().parents[2]
REF = SHARED / "reference" / "arazzo"


def _bases() -> list[Path]:
    found = [REPO / "src/weft/civitai/generate.arazzo.yaml"]
    seed = SHARED / "seed/arazzo/civitai-model-version-to-generation-workflow.yml"
    if seed.exists():
        found.append(seed)
    if REF.exists():
        found += sorted(REF.glob("examples-1.0/*.arazzo.yaml"))
        found += sorted(REF.glob("schema-tests-1.1/pass/*.yaml"))[:12]
    return found


BASES = [(p, yaml.safe_load(p.read_text())) for p in _bases()]
VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x",
    "$",
    "$inputs.",
    "{$",
    "$[?",
    "{$inputs.x}",
    "$response.body#/a~2",
    [],
    {},
    {"$ref": "#/nowhere"},
    {"$ref": "#/components/inputs/x"},
    ["a"],
    {"a": 1},
    "$sourceDescriptions.x.y",
    "$workflows.a.steps.b",
    {"reference": "$components.parameters.x"},
    {"context": "$response.body", "selector": "$..", "type": "jsonpath"},
    {"type": {}},
    "goto",
]
_CACHE: dict[str, bytes] = {}


def _fetch(uri: str) -> bytes:
    if uri not in _CACHE:
        if not uri.startswith("file:"):
            raise OSError("offline")
        _CACHE[uri] = default_fetch(uri)
    return _CACHE[uri]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def _documents(draw: st.DrawFn) -> tuple[Path, Any]:
    base, tree = draw(st.sampled_from(BASES))
    tree = copy.deepcopy(tree)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(tree)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        op = draw(st.sampled_from(["delete", "replace", "retype"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(VALUES)))
        else:
            value = parent[path[-1]]
            if isinstance(value, dict):
                parent[path[-1]] = list(value.values())
            elif isinstance(value, list):
                parent[path[-1]] = {str(i): v for i, v in enumerate(value)}
            else:
                parent[path[-1]] = {"value": value}
    return base, tree


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tree where the seed's and the bundle's relative source urls resolve."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "arazzo").mkdir()
    if (SHARED / "seed/openapi").exists():
        shutil.copytree(SHARED / "seed/openapi", root / "openapi")
    shutil.copytree(REPO / "src/weft/civitai/descriptions", root / "arazzo" / "descriptions")
    return root


def _cli(*args: str) -> int:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1, 2), result.output
    return result.exit_code


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(doc=_documents())
def test_mutated_documents_never_crash(workdir: Path, doc: tuple[Path, Any]) -> None:
    _, tree = doc
    path = workdir / "arazzo" / "doc.yaml"
    text = yaml.safe_dump(tree, sort_keys=False)
    path.write_text(text)
    try:
        loaded = load(path, fetch=_fetch)
    except WeftError:
        loaded = None
    if loaded is not None:
        found = validate(loaded) + lint(loaded) + validate(loaded, strict=True)
        render_description(describe(loaded))
        with contextlib.suppress(WeftError):
            fix_text(text, found, str(path))
    for command in ("validate", "lint"):
        code = _cli(command, "--no-sources", str(path))
        assert code in (0, 1) or loaded is None
    _cli("lint", "--diff", str(path))


# -- one document per finding -------------------------------------------------------------------
def _step(**changes: Any) -> dict[str, Any]:
    step = copy.deepcopy(GET_PET)
    step.update(changes)
    return step


def _doc(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return arazzo(list(steps) or [_step()], **extra)


def _with_inputs(schema: Any) -> dict[str, Any]:
    doc = _doc()
    doc["workflows"][0]["inputs"] = schema
    return doc


def _cycle() -> dict[str, Any]:
    doc = _doc()
    doc["workflows"][0]["dependsOn"] = ["wf2"]
    doc["workflows"].append({"workflowId": "wf2", "dependsOn": ["wf"], "steps": [_step()]})
    return doc


CORPUS: dict[str, Any] = {
    "structure/unknown-field": _doc(_step(bogus=1)),
    "structure/schema": _with_inputs({"type": {}, "properties": "x"}),
    "structure/type": _with_inputs("a string where an object belongs"),
    "arazzo/duplicate-step-id": _doc(_step(), _step()),
    "arazzo/unresolved-operation": _doc(_step(operationId="ghost")),
    "arazzo/missing-path-parameter": _doc(_step(parameters=[])),
    "arazzo/output-name": _doc(_step(outputs={"bad name": "$response.body#/id"})),
    "arazzo/unknown-target": _doc(
        _step(onSuccess=[{"name": "a", "type": "goto", "stepId": "nowhere"}])
    ),
    "arazzo/dependency-cycle": _cycle(),
    "arazzo/invalid-criterion": _doc(_step(successCriteria=[{"condition": "== =="}])),
    "arazzo/invalid-output": _doc(_step(outputs={"x": "$nonsense"})),
    "arazzo/literal-expression": _doc(
        _step(
            parameters=[*GET_PET["parameters"], {"name": "q", "in": "query", "value": "$inputs."}]
        )
    ),
    "arazzo/bare-expression": _doc(
        _step(parameters=[{"name": "petId", "in": "path", "value": "p-$inputs.id"}])
    ),
    "arazzo/unbounded-poll": _doc(
        _step(onSuccess=[{"name": "again", "type": "goto", "stepId": "get"}])
    ),
    "arazzo/operation-path-braces": _doc(
        {
            "stepId": "get",
            "operationPath": "$sourceDescriptions.pets.url#/paths/~1pets~1{petId}/get",
            "parameters": GET_PET["parameters"],
        }
    ),
    "arazzo/payload-template-string": _doc(
        {"stepId": "add", "operationId": "addPet", "requestBody": {"payload": {"n": "{$inputs.n}"}}}
    ),
    "arazzo/request-body-schema": _doc(
        {"stepId": "add", "operationId": "addPet", "requestBody": {"payload": {"status": "lost"}}}
    ),
    "arazzo/unused-input": _with_inputs({"type": "object", "properties": {"unused": {}}}),
}


@pytest.mark.parametrize("rule", sorted(CORPUS))
def test_every_finding_document_exits_cleanly(tmp_path: Path, rule: str) -> None:
    path = write(tmp_path, CORPUS[rule], openapi=PETS_OPENAPI)
    loaded = load(path)
    findings = validate(loaded) + lint(loaded)
    assert rule in {d.rule for d in findings}
    errors = any(d.severity == "error" for d in validate(loaded))
    assert _cli("validate", str(path)) == (1 if errors else 0)
    assert _cli("lint", str(path)) in (0, 1)
    assert _cli("lint", "--format", "sarif", str(path)) in (0, 1)
    assert _cli("describe", str(path)) == 0
