"""Every imageGen variant the simulator implements, field by field, against the published spec:
the same properties, required fields, ranges, lengths, enums and nullability."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from tests.conftest import shared_path
from weft.civitai.simulator.variants import VARIANTS, Variant

KINDS = {"int": "integer", "number": "number", "string": "string", "bool": "boolean",
         "air": "string", "air_list": "array", "lora_map": "object", "lora_list": "array",
         "string_list": "array", "controlnets": "array"}  # fmt: skip


@cache
def schemas() -> dict[str, Any]:
    path = shared_path("reference", "civitai", "orchestration-v2-consumers.swagger.json")
    spec: dict[str, Any] = json.loads(path.read_text())
    return spec["components"]["schemas"]


def flatten(name: str) -> tuple[dict[str, Any], set[str]]:
    """Properties (the most derived definition wins) and required names of an allOf chain."""
    props: dict[str, Any] = {}
    required: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "$ref" in node:
            walk(schemas()[node["$ref"].rsplit("/", 1)[1]])
            return
        for part in node.get("allOf", []):
            walk(part)
        props.update(node.get("properties", {}))
        required.update(node.get("required", []))

    walk(schemas()[name])
    return props, required


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    return schemas()[node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node


@pytest.mark.parametrize("key", sorted(VARIANTS), ids=lambda k: "/".join(k))
def test_variant_matches_the_spec(key: tuple[str, str, str]) -> None:
    variant: Variant = VARIANTS[key]
    props, required = flatten(variant.type_name)
    discriminators = {"engine", "operation", "model" if variant.family == "flux2" else "ecosystem"}
    assert set(variant.fields) | discriminators == set(props)
    # the simulator follows the docs where they drop required fields (documented choice)
    assert variant.required | variant.spec_required == required
    assert variant.spec_required <= {"clipLModel", "t5XXLModel", "vaeModel"}
    for name, field in variant.fields.items():
        schema = resolve(props[name])
        types = schema.get("type", "string")
        types = types if isinstance(types, list) else [types]
        assert KINDS.get(field.kind, "string") in types, (name, types)
        assert field.nullable == ("null" in types), name
        assert field.max_length == schema.get("maxLength"), name
        if field.kind in ("int", "number") and "minimum" in schema:
            assert (field.minimum, field.maximum) == (schema["minimum"], schema["maximum"]), name
        if field.kind == "enum":
            assert set(field.values) == set(schema["enum"]), name
        if field.kind == "air":
            assert "pattern" in schema, name
        default = variant.defaults.get(name)
        if default is not None and "default" in schema:
            assert default == schema["default"], name


def test_every_simulated_family_is_covered() -> None:
    engines = {(engine, selector) for engine, selector, _ in VARIANTS}
    assert {("sdcpp", "sd1"), ("sdcpp", "sdxl"), ("sdcpp", "flux1"), ("comfy", "sd1"),
            ("comfy", "sdxl"), ("comfy", "flux1")} <= engines  # fmt: skip
    assert {selector for engine, selector in engines if engine == "flux2"} == {
        "dev",
        "flex",
        "pro",
        "max",
        "klein",
    }
