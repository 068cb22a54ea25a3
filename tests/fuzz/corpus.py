"""The mutation corpus: real documents (the Arazzo reference examples, the seed, the bundled
Civitai workflow, and a flow of this suite's own that uses every part of a request), copied
into a work folder where their relative source URLs resolve, and hypothesis strategies that
mutate them.

Tree mutations keep a document loadable most of the time (delete, replace, retype, duplicate a
node; a fuzzed runtime expression, criterion, action or payload in a step) so the run gets past
loading and meets the server; text mutations (cut, flipped bytes, YAML tricks) reach the parser.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.conftest import SHARED

REPO = Path(__file__).resolve().parents[2]
REFERENCE = SHARED / "reference" / "arazzo"
SEED = SHARED / "seed"

# -- a flow of our own: every parameter location, a password, a body, a loop, a retry ------------
ECHO_OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "things", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:9/api"}],
    "paths": {
        "/things/{id}": {
            "get": {
                "operationId": "getThing",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "tags",
                        "in": "query",
                        "schema": {"type": "array"},
                        "style": "pipeDelimited",
                    },
                    {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
                    {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "a thing"}},
            },
        },
        "/things": {
            "post": {
                "operationId": "addThing",
                "parameters": [{"name": "api_key", "in": "query", "schema": {"type": "string"}}],
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                    }
                },
                "responses": {"201": {"description": "created"}},
            }
        },
    },
}
ECHO_ARAZZO: dict[str, Any] = {
    "arazzo": "1.0.1",
    "info": {"title": "things", "version": "1"},
    "sourceDescriptions": [{"name": "things", "url": "things.openapi.yaml", "type": "openapi"}],
    "workflows": [
        {
            "workflowId": "things",
            "inputs": {
                "type": "object",
                "properties": {
                    "token": {"type": "string", "format": "password"},
                    "id": {"type": "string"},
                    "count": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
            "steps": [
                {
                    "stepId": "add",
                    "operationId": "addThing",
                    "parameters": [{"name": "api_key", "in": "query", "value": "$inputs.token"}],
                    "requestBody": {
                        "contentType": "application/json",
                        "payload": {
                            "id": "$inputs.id",
                            "count": "$inputs.count",
                            "secret": "$inputs.token",
                            "tags": "$inputs.tags",
                        },
                    },
                    "successCriteria": [{"condition": "$statusCode == 201"}],
                    "onFailure": [
                        {"name": "again", "type": "retry", "retryAfter": 0, "retryLimit": 2}
                    ],
                    "outputs": {"id": "$response.body#/id", "all": "$response.body"},
                },
                {
                    "stepId": "get",
                    "operationId": "getThing",
                    "parameters": [
                        {"name": "id", "in": "path", "value": "$steps.add.outputs.id"},
                        {"name": "q", "in": "query", "value": "{$inputs.id}-{$inputs.count}"},
                        {"name": "tags", "in": "query", "value": "$inputs.tags"},
                        {
                            "name": "Authorization",
                            "in": "header",
                            "value": "Bearer {$inputs.token}",
                        },
                        {"name": "session", "in": "cookie", "value": "$inputs.token"},
                    ],
                    "successCriteria": [
                        {"condition": "$statusCode == 200"},
                        {"context": "$response.body", "condition": "$.status", "type": "jsonpath"},
                    ],
                    "onSuccess": [
                        {
                            "name": "poll",
                            "type": "goto",
                            "stepId": "get",
                            "criteria": [{"condition": "$response.body#/status == 'running'"}],
                        },
                    ],
                    "outputs": {
                        "status": "$response.body#/status",
                        "type": "$response.header.Content-Type",
                    },
                },
            ],
            "outputs": {"id": "$steps.add.outputs.id", "status": "$steps.get.outputs.status"},
        }
    ],
}


@dataclass(frozen=True)
class Base:
    """A document of the corpus: where it lives in the work folder, its parsed tree, and
    whether ``weft run`` takes it as it is (its sources are at hand and it has no errors)."""

    name: str
    folder: Path
    tree: Any
    runnable: bool = True

    def write(self, text: str) -> Path:
        """``text`` as a document next to this one (its relative sources resolve)."""
        path = self.folder / "_fuzz.arazzo.yaml"
        path.write_text(text)
        return path


def make_workdir(root: Path) -> list[Base]:
    """Copy every base document (and its sources) under ``root``."""
    bases: list[Base] = []
    own = root / "own"
    own.mkdir()
    (own / "things.openapi.yaml").write_text(yaml.safe_dump(ECHO_OPENAPI, sort_keys=False))
    bases.append(Base("own", own, ECHO_ARAZZO))
    civitai = root / "civitai"
    shutil.copytree(REPO / "src/weft/civitai/descriptions", civitai / "descriptions")
    bundle = REPO / "src/weft/civitai/generate.arazzo.yaml"
    bases.append(Base("civitai", civitai, yaml.safe_load(bundle.read_text())))
    if SEED.exists():
        shutil.copytree(SEED / "openapi", root / "openapi")
        (root / "seed").mkdir()
        for doc in sorted((SEED / "arazzo").glob("*.yml")):
            bases.append(Base(f"seed:{doc.name}", root / "seed", yaml.safe_load(doc.read_text())))
    examples = REFERENCE / "examples-1.0"
    if examples.exists():
        shutil.copytree(examples, root / "examples")
        for doc in sorted(examples.glob("*arazzo.yaml")):
            tree = yaml.safe_load(doc.read_text())
            for sd in tree.get("sourceDescriptions", []):
                local = root / "examples" / Path(sd["url"]).name
                if local.exists():  # a published copy of a description that is at hand
                    sd["url"] = local.name
            bases.append(Base(doc.name, root / "examples", tree))
    return [replace(b, runnable=_runnable(b)) for b in bases]


def _runnable(base: Base) -> bool:
    from weft.document import check_runnable, load

    path = base.write(dump(base.tree))
    return not any(d.severity == "error" for d in check_runnable(load(path)))


# -- values a mutation puts in --------------------------------------------------------------------
EXPRESSIONS = [
    "$statusCode", "$url", "$method", "$request.body", "$request.header.Authorization",
    "$response.body", "$response.body#/id", "$response.body#/a/0/b", "$response.body#/",
    "$response.body#/~01/~1x", "$response.body#/" + "a/" * 60, "$response.header.Content-Type",
    "$response.header.X-Echo", "$response.header.nope", "$response.query.x", "$inputs.token",
    "$inputs.id", "$inputs.nope", "$steps.add.outputs.id", "$steps.nope.outputs.x",
    "$workflows.things.outputs.id", "$sourceDescriptions.things.url", "$components.inputs.x",
    "{$inputs.id}-{$response.body#/id}", "{$response.body}", "{$", "$", "$$", "$inputs.",
    "$response.body#/" + "~" * 5, "x" * 2000, "é€😀\x00\u202e", "$statusCode == 200 && $url",
]  # fmt: skip
CONDITIONS = [
    "$statusCode == 200", "$statusCode >= 200 && $statusCode < 300", "$response.body#/status",
    "$response.body#/status == 'running'", "$response.body#/n > 1e308", "!($statusCode == 1)",
    "$response.body#/a == $inputs.id", "$statusCode == ", "((((((((((1))))))))))", "== ==",
    "$response.header.Retry-After > 0", "$inputs.token == 'x'", "1 == 1.0", "'a' < 1",
]  # fmt: skip
TYPED_CRITERIA: list[dict[str, Any]] = [
    {"context": "$response.body", "condition": "$.status", "type": "jsonpath"},
    {"context": "$response.body", "condition": "$[?@.n > 1]", "type": "jsonpath"},
    {"context": "$response.body", "condition": "$..*[?match(@, '(a+)+$')]", "type": "jsonpath"},
    {"context": "$response.body", "condition": "$[?", "type": "jsonpath"},
    {"context": "$response.body", "condition": "^(a|aa)+$", "type": "regex"},
    {"context": "$response.body", "condition": "[", "type": "regex"},
    {"context": "$response.body", "condition": "//status", "type": "xpath"},
    {"context": "$response.body", "condition": "count(//*) > 1", "type": "xpath"},
    {"context": "$response.header.Content-Type", "condition": "json", "type": "regex"},
    {"context": "$response.body", "condition": "$.a",
     "type": {"type": "jsonpath", "version": "draft-goessner-dispatch-jsonpath-00"}},
    {"context": "$response.body", "condition": "/a/b",
     "type": {"type": "jsonpointer", "version": "rfc6901"}},
]  # fmt: skip
ACTIONS: list[dict[str, Any]] = [
    {"name": "again", "type": "retry", "retryAfter": 0, "retryLimit": 3},
    {"name": "again", "type": "retry", "retryAfter": 0.001, "retryLimit": 1000},
    {"name": "again", "type": "retry"},
    {"name": "loop", "type": "goto", "stepId": "add"},
    {"name": "loop", "type": "goto", "stepId": "nowhere"},
    {"name": "wf", "type": "goto", "workflowId": "things"},
    {"name": "wf", "type": "goto", "workflowId": "$sourceDescriptions.things.x"},
    {"name": "stop", "type": "end"},
    {"name": "stop", "type": "end", "criteria": [{"condition": "$statusCode == 500"}]},
    {"name": "both", "type": "goto", "stepId": "get", "workflowId": "things"},
]
VALUES: list[Any] = [
    None, 0, -1, 1.5, 2**63, -(2**63) - 1, 1e308, float("inf"), float("nan"), True, "", "x",
    [], {}, [[[[[]]]]], {"$ref": "#/nowhere"}, {"$ref": "#/components/inputs/x"},
    {"$ref": "#/workflows/0"}, {"reference": "$components.parameters.x"},
    {"reference": "$components.successActions.nope"}, {"a": {"b": {"c": None}}},
    "a" * 5000, list(range(50)), {"type": "object", "properties": {"x": {"format": "password"}}},
]  # fmt: skip


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _steps(tree: Any) -> list[dict[str, Any]]:
    found = []
    workflows = tree.get("workflows") if isinstance(tree, dict) else None
    for wf in workflows if isinstance(workflows, list) else []:
        steps = wf.get("steps") if isinstance(wf, dict) else None
        found += [s for s in (steps if isinstance(steps, list) else []) if isinstance(s, dict)]
    return found


@st.composite
def _mutate_step(draw: st.DrawFn, tree: Any) -> None:
    steps = _steps(tree)
    if not steps:
        return
    step = draw(st.sampled_from(steps))
    what = draw(st.sampled_from(["criteria", "typed", "action", "output", "param", "body"]))
    if what == "criteria":
        step["successCriteria"] = [{"condition": draw(st.sampled_from(CONDITIONS))}]
    elif what == "typed":
        criteria = step.get("successCriteria")
        typed = copy.deepcopy(draw(st.sampled_from(TYPED_CRITERIA)))
        step["successCriteria"] = [*criteria, typed] if isinstance(criteria, list) else [typed]
    elif what == "action":
        key = draw(st.sampled_from(["onSuccess", "onFailure"]))
        step[key] = [copy.deepcopy(draw(st.sampled_from(ACTIONS)))]
    elif what == "output":
        step["outputs"] = {"o": draw(st.sampled_from(EXPRESSIONS))}
    elif what == "param":
        where = draw(st.sampled_from(["query", "header", "path", "cookie", "body", "querystring"]))
        name = draw(st.sampled_from(["id", "q", "Authorization", "X-Api-Key", "a b", "", "é"]))
        value = copy.deepcopy(draw(st.sampled_from(EXPRESSIONS + VALUES)))
        step.setdefault("parameters", [])
        if isinstance(step["parameters"], list):
            step["parameters"].append({"name": name, "in": where, "value": value})
    else:
        media = draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                      "multipart/form-data", "text/plain", "application/xml",
                                      "application/octet-stream", "nonsense"]))  # fmt: skip
        payload = copy.deepcopy(draw(st.sampled_from(EXPRESSIONS + VALUES)))
        step["requestBody"] = {"contentType": media, "payload": payload}


_GENTLE = ["step"] * 6 + ["delete", "replace", "retype", "duplicate"]
_ROUGH = ["step", "delete", "replace", "retype", "duplicate"]


@st.composite
def mutated_tree(draw: st.DrawFn, bases: list[Base], *, gentle: bool = False) -> tuple[Base, Any]:
    """A base document and a mutated copy of its tree (``gentle``: mostly step changes that
    keep a runnable document runnable, so runs get as far as the server)."""
    base = draw(st.sampled_from([b for b in bases if b.runnable] if gentle else bases))
    tree = copy.deepcopy(base.tree)
    for _ in range(draw(st.integers(0, 2 if gentle else 3))):
        op = draw(st.sampled_from(_GENTLE if gentle else _ROUGH))
        if op == "step":
            draw(_mutate_step(tree))
            continue
        paths = _paths(tree)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = copy.deepcopy(draw(st.sampled_from(VALUES + EXPRESSIONS)))
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        else:
            value = parent[key]
            if isinstance(value, dict):
                parent[key] = list(value.values())
            elif isinstance(value, list):
                parent[key] = {str(i): v for i, v in enumerate(value)}
            else:
                parent[key] = {"value": value}
    return base, tree


def dump(tree: Any) -> str:
    """YAML text of a tree (any tree: NaN and infinities included)."""
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, width=1_000_000)


_YAML_TRICKS = [
    "\n<<: *nope\n", "\n!!python/object:os.system {}\n", "\n? [a, b]\n: c\n", "\n%YAML 1.1\n---\n",
    "\n---\n---\n", "\t", "\x00", "\ufeff", "\n&a a: *a\n", "\nx: !!binary AAAA\n", "'", '"',
    "\nx: 0x_1\n", "\nx: 1_000\n", "\nx: 2001-12-14t21:59:43.10-05:00\n", "{", "[", ": ",
    "\nx: &a [*a]\n", "\n" + " " * 200 + "x: 1\n", "\nx: " + "[" * 300 + "\n",
]  # fmt: skip


@st.composite
def mutated_text(draw: st.DrawFn, bases: list[Base]) -> tuple[Base, str]:
    """A base document's YAML text, cut, with bytes changed or YAML tricks put in."""
    base, tree = draw(mutated_tree(bases))
    text = dump(tree)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["cut", "insert", "flip", "json"]))
        if op == "cut":
            text = text[:at]
        elif op == "insert":
            text = text[:at] + draw(st.sampled_from(_YAML_TRICKS)) + text[at:]
        elif op == "flip" and text:
            at = min(at, len(text) - 1)
            text = text[:at] + chr(draw(st.integers(0, 0x2FF))) + text[at + 1 :]
        else:
            import json

            text = json.dumps(tree, default=str)[: at or None]
    return base, text


def source_names(tree: Any) -> list[str]:
    """The source description names of a (mutated) tree that ``--server`` can take."""
    found: list[str] = []
    sources = tree.get("sourceDescriptions") if isinstance(tree, dict) else None
    for sd in sources if isinstance(sources, list) else []:
        name = sd.get("name") if isinstance(sd, dict) else None
        if isinstance(name, str) and name and "=" not in name and name not in found:
            found.append(name)
    return found


def workflow_inputs(tree: Any, index: int = 0) -> dict[str, dict[str, Any]]:
    """The input properties of the ``index``-th workflow of a (mutated) tree, by name."""
    workflows = tree.get("workflows") if isinstance(tree, dict) else None
    if not isinstance(workflows, list) or len(workflows) <= index:
        return {}
    wf = workflows[index]
    schema = wf.get("inputs") if isinstance(wf, dict) else None
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return {}
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in props.items()}
