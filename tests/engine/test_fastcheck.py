"""The fast inputs pre-check agrees with jsonschema's ``is_valid`` (engine/fastcheck.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

import weft.civitai
from weft.engine.fastcheck import compile_fast_check

BUNDLE = Path(weft.civitai.__file__).parent / "generate.arazzo.yaml"


def _civitai_schemas() -> dict[str, Any]:
    doc = yaml.safe_load(BUNDLE.read_text())
    return {w["workflowId"]: w["inputs"] for w in doc["workflows"] if "inputs" in w}


SYNTHETIC: dict[str, Any] = {
    "closed": {
        "type": "object",
        "required": ["a"],
        "additionalProperties": False,
        "properties": {
            "a": {"type": ["integer", "null"], "exclusiveMinimum": 0, "exclusiveMaximum": 5},
            "b": {"type": "number", "minimum": -1.5, "maximum": 2.5},
            "c": {"type": "boolean"},
            "d": {"enum": ["x", "y", ""]},
            "e": {"minLength": 2, "maxLength": 3, "minimum": 1},
            "f": {"type": ["string", "integer"], "pattern": "^[ab]+$", "maximum": 3},
            "g": {"type": "array"},
            "h": {"type": "object"},
            "i": True,
        },
    },
    "open": {"properties": {"n": {"type": "null"}, "s": {"type": "string", "format": "uri"}}},
    "empty": {"type": "object"},
}

SCHEMAS = {**_civitai_schemas(), **SYNTHETIC}

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=20000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, 2.5, 3.0, 64.0, 2048.0, 4.999, 5.0]),
    st.text(max_size=12),
    st.sampled_from(["a", "ab", "abc", "ba", "x", "y", "sd1", "sdxl", "urn:air:sd1:x", "r-1_a"]),
    st.text(alphabet="ab", min_size=0, max_size=5),
)
_values = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=2),
    st.dictionaries(st.text(max_size=3), _scalars, max_size=2),
)


@st.composite
def _instances(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    names = [*schema.get("properties", {}), "zzz", "other"]
    keys = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    return {k: draw(_values) for k in keys}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_compiled(name: str) -> None:
    assert compile_fast_check(SCHEMAS[name]) is not None


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_verdict_equals_jsonschema(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    fast = compile_fast_check(schema)
    assert fast is not None
    instance = data.draw(_instances(schema))
    assert fast(instance) == Draft202012Validator(schema).is_valid(instance), instance


def test_valid_civitai_inputs_pass_fast() -> None:
    fast = compile_fast_check(SCHEMAS["generate-from-model-version"])
    assert fast is not None
    good = {"token": "t", "modelVersionId": 1, "prompt": "p", "externalId": "r-1", "width": 64}
    assert fast(good)
    assert not fast({**good, "width": 63})
    assert not fast({**good, "externalId": "bad id"})
    assert not fast({k: v for k, v in good.items() if k != "token"})


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"$ref": "#/x"}}},
        {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}},
        {"type": "object", "properties": {"a": {"enum": [1, 2]}}},
        {"type": "object", "properties": {"a": {"multipleOf": 2}}},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "object", "patternProperties": {"^a": {}}},
        {"type": "array"},
        {"$ref": "#/components/inputs/x"},
    ],
)
def test_unsupported_schemas_fall_back(schema: dict[str, Any]) -> None:
    assert compile_fast_check(schema) is None


def test_non_json_values_are_left_to_jsonschema() -> None:
    from decimal import Decimal

    fast = compile_fast_check({"properties": {"a": {"minimum": 1}}})
    assert fast is not None
    assert not fast({"a": Decimal(0)})
    assert not fast({"a": (1,)})
    assert fast({"a": 1})
