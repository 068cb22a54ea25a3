"""A fast pre-check of workflow inputs for the common, simple inputs schema.

jsonschema stays the validator of record: :func:`compile_fast_check` turns an inputs schema
into a plain-Python predicate only when every keyword in it is one this module mirrors exactly
(an ``object`` with ``properties`` of primitive ``type``s, string ``enum``s, ``minimum`` /
``maximum`` / ``exclusiveMinimum`` / ``exclusiveMaximum``, ``minLength`` / ``maxLength``,
``pattern``, ``required``, ``additionalProperties`` true/false; ``format`` and annotations are
ignored, as jsonschema ignores ``format`` without a format checker). Any other keyword, a
``$ref`` below the top, a non-string ``enum``: no fast check (``None``), so jsonschema decides.

The predicate answers ``True`` only when the instance is certainly valid; ``False`` means "ask
jsonschema" (the caller then runs jsonschema's ``iter_errors``, so error messages stay its
own). For JSON values (str, int, float, bool, None, list, dict) the predicate's verdict equals
jsonschema's ``is_valid`` (tests/engine/test_fastcheck.py checks this with hypothesis).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

FastCheck = Callable[[Mapping[str, Any]], bool]

# Keywords that never affect validity (annotations; ``format`` is annotation-only without a
# format checker, which is how plan.py builds the validator).
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "default",
        "examples",
        "format",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "x-weft-secret",
    }
)
_PROPERTY_KEYWORDS = _ANNOTATIONS | {
    "type",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
}
_TOP_KEYWORDS = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties"}
_TYPES = frozenset({"string", "integer", "number", "boolean", "null", "object", "array"})


# Values of these exact types are the ones the predicate judges; anything else (a str
# subclass, Decimal, tuple, ...) is left to jsonschema.
_JSON_TYPES = frozenset({str, int, float, bool, type(None), list, dict})


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _type_test(name: str) -> Callable[[Any], bool]:
    if name == "string":
        return lambda v: isinstance(v, str)
    if name == "integer":
        return lambda v: (
            (isinstance(v, int) and not isinstance(v, bool))
            or (isinstance(v, float) and v.is_integer())
        )
    if name == "number":
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool)
    if name == "boolean":
        return lambda v: isinstance(v, bool)
    if name == "null":
        return lambda v: v is None
    if name == "object":
        return lambda v: isinstance(v, dict)
    return lambda v: isinstance(v, list)  # array


def _finite_number(x: Any) -> bool:
    return _is_num(x) and math.isfinite(x)


# jsonschema's comparisons, which fail the instance when true (NaN compares false: it passes)
_BOUNDS: tuple[tuple[str, Callable[[Any, Any], bool]], ...] = (
    ("minimum", operator.lt),
    ("maximum", operator.gt),
    ("exclusiveMinimum", operator.le),
    ("exclusiveMaximum", operator.ge),
)


def _any_of(tests: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    return lambda v: any(t(v) for t in tests)


def _bound(fails: Callable[[Any, Any], bool], bound: Any) -> Callable[[Any], bool]:
    return lambda v: not _is_num(v) or not fails(v, bound)


def _length(at_least: bool, n: int) -> Callable[[Any], bool]:
    if at_least:
        return lambda v: not isinstance(v, str) or len(v) >= n
    return lambda v: not isinstance(v, str) or len(v) <= n


def _property_check(schema: Any) -> tuple[Callable[[Any], bool], ...] | None:
    """Predicates mirroring ``schema`` for one property's value (all must hold), or None if
    unsupported."""
    if schema is True or (isinstance(schema, Mapping) and not schema):
        return ()
    if not isinstance(schema, Mapping):
        return None
    if any(k not in _PROPERTY_KEYWORDS for k in schema):
        return None
    checks: list[Callable[[Any], bool]] = []
    if "type" in schema:
        types = schema["type"]
        names = [types] if isinstance(types, str) else types
        if not isinstance(names, list) or not names or any(n not in _TYPES for n in names):
            return None
        tests = [_type_test(n) for n in names]
        if len(tests) == 1:
            checks.append(tests[0])
        else:
            checks.append(_any_of(tests))
    if "enum" in schema:
        enum = schema["enum"]
        if not isinstance(enum, list) or not all(isinstance(e, str) for e in enum):
            return None
        allowed = frozenset(enum)
        checks.append(lambda v: isinstance(v, str) and v in allowed)
    for key, fails in _BOUNDS:
        if key in schema:
            bound = schema[key]
            if not _finite_number(bound):
                return None
            checks.append(_bound(fails, bound))
    for key in ("minLength", "maxLength"):
        if key in schema:
            n = schema[key]
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                return None
            checks.append(_length(key == "minLength", n))
    if "pattern" in schema:
        pattern = schema["pattern"]
        if not isinstance(pattern, str):
            return None
        try:
            search = re.compile(pattern).search
        except re.error:
            return None
        checks.append(lambda v: not isinstance(v, str) or search(v) is not None)
    return tuple(checks)


def compile_fast_check(schema: Any) -> FastCheck | None:
    """The fast predicate for a resolved inputs ``schema``, or None when it is not simple."""
    if not isinstance(schema, Mapping) or any(k not in _TOP_KEYWORDS for k in schema):
        return None
    if schema.get("type", "object") != "object":
        return None
    props = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(props, Mapping) or not isinstance(required, list):
        return None
    if not all(isinstance(r, str) for r in required) or not isinstance(extra, bool):
        return None
    checks: dict[str, tuple[Callable[[Any], bool], ...]] = {}
    for name, sub in props.items():
        check = _property_check(sub)
        if check is None:
            return None
        checks[name] = check
    required_t = tuple(required)
    allowed = frozenset(props) if extra is False else None
    items = tuple(checks.items())

    def fast(instance: Mapping[str, Any]) -> bool:
        if not isinstance(instance, dict):
            return False
        for name in required_t:
            if name not in instance:
                return False
        if allowed is not None:
            for key in instance:
                if key not in allowed:
                    return False
        for name, check in items:
            if name in instance:
                value = instance[name]
                if type(value) not in _JSON_TYPES:
                    return False
                for test in check:
                    if not test(value):
                        return False
        return True

    return fast


__all__ = ["FastCheck", "compile_fast_check"]
