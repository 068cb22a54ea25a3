"""OpenAPI 3.0 and Swagger 2.0 schemas read as JSON Schema 2020-12 (OpenAPI 3.1 schemas are
2020-12 already): ``nullable: true`` (and ``x-nullable``) allows ``null``; a boolean
``exclusiveMinimum``/``exclusiveMaximum`` (draft 4 style) becomes the number form.

Only schema objects are rewritten: the walk follows the keywords that hold schemas, so a
property *named* ``nullable`` is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
)


def needs_translation(version: str) -> bool:
    """Whether schemas of an OpenAPI ``version`` (``3.0.3``, ``2.0``…) must be translated."""
    return not version.startswith("3.1") and not version.startswith("3.2")


def translate_schema(schema: Any) -> Any:
    """A 2020-12 copy of an OpenAPI 3.0 / Swagger 2.0 schema (see the module docstring)."""
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {k: translate_schema(v) for k, v in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [translate_schema(v) for v in value]
        elif key in _SCHEMA_ONE:
            out[key] = (
                [translate_schema(v) for v in value]
                if isinstance(value, list)
                else translate_schema(value)
            )
        else:
            out[key] = value
    nullable = out.pop("nullable", None) is True or out.pop("x-nullable", None) is True
    if nullable:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out or "allOf" in out or "oneOf" in out or "anyOf" in out:
            out = {"anyOf": [out, {"type": "null"}]}
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = out.get(exclusive)
        if isinstance(flag, bool):
            if flag and bound in out:
                out[exclusive] = out.pop(bound)
            else:
                del out[exclusive]
    return out


def translate_document(tree: Any) -> Any:
    """The description with every schema under ``components.schemas`` (3.0) or
    ``definitions`` (2.0) translated, for resolving ``$ref``s of response schemas."""
    if not isinstance(tree, Mapping):
        return tree
    out = dict(tree)
    components = tree.get("components")
    if isinstance(components, Mapping) and isinstance(components.get("schemas"), Mapping):
        schemas = {k: translate_schema(v) for k, v in components["schemas"].items()}
        out["components"] = {**components, "schemas": schemas}
    definitions = tree.get("definitions")
    if isinstance(definitions, Mapping):
        out["definitions"] = {k: translate_schema(v) for k, v in definitions.items()}
    return out


__all__ = ["needs_translation", "translate_document", "translate_schema"]
