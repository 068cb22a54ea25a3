"""Primitive checks shared by the structural validator (see :mod:`weft.document.structure`)."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from weft.expressions.pointer import escape_token

Problem = tuple[str, str, str, str | None]  # pointer, rule, message, fix

_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")
_VERSION = {"1.0": re.compile(r"^1\.0\.\d+(-.+)?$"), "1.1": re.compile(r"^1\.1\.\d+(-.+)?$")}
_DEPENDS = (
    re.compile(r"^(?!\$).+$", re.S),
    re.compile(r"^\$workflows\.[^.]+\.steps\.[^.]+$"),
    re.compile(r"^\$sourceDescriptions\.[^.]+\.[^.]+\.steps\.[^.]+$"),
)
_EXPR_VERSIONS = {
    "1.0": {
        "jsonpath": {"draft-goessner-dispatch-jsonpath-00"},
        "xpath": {"xpath-10", "xpath-20", "xpath-30"},
    },
    "1.1": {
        "jsonpath": {"rfc9535", "draft-goessner-dispatch-jsonpath-00"},
        "xpath": {"xpath-10", "xpath-20", "xpath-30", "xpath-31"},
        "jsonpointer": {"rfc6901"},
    },
}
_JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}


def _is_int(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer()
    )


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    if _is_num(v):
        return "number"
    return "string" if isinstance(v, str) else type(v).__name__


class CheckerBase:
    def __init__(self, family: str) -> None:
        self.family = family
        self.v11 = family == "1.1"
        self.problems: list[Problem] = []

    # -- primitives --------------------------------------------------------------------------
    def add(self, p: str, rule: str, msg: str, fix: str | None = None) -> None:
        self.problems.append((p, rule, msg, fix))

    def obj(
        self,
        raw: Any,
        p: str,
        what: str,
        allowed: set[str],
        required: tuple[str, ...] = (),
        ext: bool = True,
    ) -> bool:
        if not isinstance(raw, dict):
            self.add(p, "structure/type", f"{what} must be an object, not {_kind(raw)}")
            return False
        for key in raw:
            if key in allowed or (ext and isinstance(key, str) and key.startswith("x-")):
                continue
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            fix = (
                f"did you mean {close[0]!r}?"
                if close
                else (f"allowed fields: {', '.join(sorted(allowed))}")
            )
            self.add(
                f"{p}/{escape_token(str(key))}",
                "structure/unknown-field",
                f"unknown field {key!r} in {what}",
                fix,
            )
        for key in required:
            if key not in raw:
                self.add(p, "structure/missing-field", f"{what} is missing required field {key!r}")
        return True

    def string(
        self, raw: dict[str, Any], key: str, p: str, pattern: re.Pattern[str] | None = None
    ) -> None:
        if key not in raw:
            return
        v = raw[key]
        fp = f"{p}/{escape_token(key)}"
        if not isinstance(v, str):
            self.add(fp, "structure/type", f"{key!r} must be a string, not {_kind(v)}")
        elif pattern is not None and not pattern.search(v):
            self.add(
                fp, "structure/pattern", f"{key!r} value {v!r} does not match {pattern.pattern}"
            )

    def enum(self, raw: dict[str, Any], key: str, p: str, values: tuple[str, ...]) -> None:
        if key in raw and raw[key] not in values:
            self.add(
                f"{p}/{escape_token(key)}",
                "structure/enum",
                f"{key!r} must be one of {', '.join(values)}; got {raw[key]!r}",
            )

    def array(
        self,
        raw: dict[str, Any],
        key: str,
        p: str,
        item: Callable[[Any, str], None] | None,
        min_items: int = 0,
        unique: bool = True,
    ) -> None:
        if key not in raw:
            return
        v = raw[key]
        fp = f"{p}/{escape_token(key)}"
        if not isinstance(v, list):
            self.add(fp, "structure/type", f"{key!r} must be a list, not {_kind(v)}")
            return
        if len(v) < min_items:
            self.add(fp, "structure/min-items", f"{key!r} must have at least {min_items} item(s)")
        if unique and len(v) > 1:
            seen: dict[str, int] = {}
            for i, x in enumerate(v):
                c = _canon(x)
                if c in seen:
                    self.add(
                        f"{fp}/{i}",
                        "structure/duplicate-item",
                        f"item {i} of {key!r} duplicates item {seen[c]}",
                        "remove one of them",
                    )
                seen.setdefault(c, i)
        if item is not None:
            for i, x in enumerate(v):
                item(x, f"{fp}/{i}")

    def branch(self, fn: Callable[[], None]) -> list[Problem]:
        saved = self.problems
        self.problems = []
        try:
            fn()
            return self.problems
        finally:
            self.problems = saved

    def schema(self, raw: Any, p: str, depth: int) -> None:
        """A light JSON Schema 2020-12 shape check (object or boolean, well-formed keywords)."""
        if isinstance(raw, bool) or depth > 64:
            return
        if not isinstance(raw, dict):
            self.add(
                p, "structure/type", f"a JSON Schema must be an object or boolean, not {_kind(raw)}"
            )
            return
        if "type" in raw:  # ``type: null`` too: jsonschema cannot apply it
            t = raw["type"]
            types = t if isinstance(t, list) else [t]
            if not types or any(not isinstance(x, str) or x not in _JSON_TYPES for x in types):
                self.add(f"{p}/type", "structure/schema", f"invalid JSON Schema type {t!r}")
        req = raw.get("required")
        if "required" in raw and (
            not isinstance(req, list)
            or not all(isinstance(x, str) for x in req)
            or len(set(req)) != len(req)
        ):
            self.add(
                f"{p}/required", "structure/schema", "'required' must be a list of unique strings"
            )
        for key in ("properties", "patternProperties", "$defs", "definitions"):
            sub = raw.get(key)
            if sub is None:
                continue
            if not isinstance(sub, dict):
                self.add(f"{p}/{key}", "structure/schema", f"{key!r} must be an object")
                continue
            for name, s in sub.items():
                self.schema(s, f"{p}/{key}/{escape_token(str(name))}", depth + 1)
        for key in ("items", "additionalProperties", "not", "if", "then", "else", "contains"):
            if key in raw:
                self.schema(raw[key], f"{p}/{key}", depth + 1)
        for key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            sub = raw.get(key)
            if sub is None:
                continue
            if not isinstance(sub, list) or not sub:
                self.add(f"{p}/{key}", "structure/schema", f"{key!r} must be a non-empty list")
                continue
            for i, s in enumerate(sub):
                self.schema(s, f"{p}/{key}/{i}", depth + 1)
        if "enum" in raw and not isinstance(raw["enum"], list):
            self.add(f"{p}/enum", "structure/schema", "'enum' must be a list")
