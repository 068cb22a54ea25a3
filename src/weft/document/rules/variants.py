"""Request payloads against polymorphic schemas and against the inputs that fill them.

A payload member whose value is ``$inputs.x`` is only known at run time, but the workflow's
input schema says what it can be: when the operation accepts a closed set of values there
(``const``/``enum``) and the input allows anything, or only values outside that set, the
request can be refused by the API for reasons the document already shows. For ``oneOf`` /
``anyOf`` objects each variant is checked the same way, so a payload that no variant can
accept is reported with each variant's reason (the seed's imageGen input: the sdcpp variants
require ``ecosystem`` and ``operation``, which it never sends, and its ``engine`` input is
free text where the API accepts a fixed list).
"""

from __future__ import annotations

import re
from typing import Any

from weft.document import model as m
from weft.openapi.description import OpenAPIDescription

_INPUT_REF = re.compile(r"^\s*\{?\s*\$inputs\.([A-Za-z0-9_.\-]+)\s*\}?\s*$")
_SHOWN = 12  # values listed before "…"


def _follow(desc: OpenAPIDescription, schema: Any) -> tuple[str | None, Any]:
    """(the component name when ``schema`` is or was a ``$ref``, the schema it points at)."""
    if desc.resolver is not None and isinstance(schema, dict) and "$ref" not in schema:
        # operations hold resolved copies; the resolver remembers which reference made each
        for key, target in desc.resolver.memo.items():
            if target is schema:
                return key.rsplit("/", 1)[-1], schema
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        name = schema["$ref"].rsplit("/", 1)[-1]
        if desc.resolver is None:
            return name, None
        try:
            return name, desc.resolver.follow(schema)[0]
        except Exception:
            return name, None
    return None, schema


def allowed_values(schema: Any) -> list[Any] | None:
    """The closed set of values a schema accepts (``const`` / ``enum``), or None."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _input_of(wf: m.Workflow, value: str) -> tuple[str, list[Any] | None] | None:
    """For ``$inputs.x`` (or ``{$inputs.x}``): (x, the values its schema allows or None for
    any value of its type). None when the value is another kind of expression."""
    match = _INPUT_REF.match(value)
    if match is None or not isinstance(wf.inputs, dict):
        return None
    props = wf.inputs.get("properties")
    schema = props.get(match.group(1)) if isinstance(props, dict) else None
    if not isinstance(schema, dict):
        return None
    return match.group(1), allowed_values(schema)


def _show(values: list[Any]) -> str:
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:_SHOWN])
    return shown + (", …" if len(values) > _SHOWN else "")


def input_finding(wf: m.Workflow, value: str, allowed: list[Any] | None) -> str | None:
    """A message when ``$inputs.x`` can carry values the API refuses here, else None."""
    if allowed is None:
        return None
    source = _input_of(wf, value)
    if source is None:
        return None
    name, given = source
    if given is None:
        return (
            f"{value.strip()} may be any value (input {name!r} has no enum), but the request "
            f"schema accepts only: {_show(allowed)}"
        )
    refused = [v for v in given if v not in allowed]
    if refused:
        return (
            f"input {name!r} allows {_show(refused)}, which the request schema refuses here "
            f"(it accepts only: {_show(allowed)})"
        )
    return None


def _obstacles(
    desc: OpenAPIDescription, wf: m.Workflow, value: dict[str, Any], variant: dict[str, Any]
) -> tuple[list[tuple[str, str]], list[str]]:
    """(hard reasons the variant cannot accept ``value``, conditions on inputs it needs)."""
    hard: list[tuple[str, str]] = []  # (why it cannot accept the object, what would fix it)
    conditions: list[str] = []
    props = variant.get("properties") if isinstance(variant.get("properties"), dict) else {}
    assert isinstance(props, dict)
    missing = [r for r in variant.get("required") or [] if r not in value]
    for key in missing:
        allowed = allowed_values(_follow(desc, props.get(key))[1])
        hint = f"{key}: {allowed[0]}" if allowed and len(allowed) == 1 else repr(key)
        hard.append((f"requires {key!r}", f"add {hint}"))
    if variant.get("additionalProperties") is False:
        for key in (k for k in value if k not in props):
            hard.append((f"does not allow {key!r}", f"remove {key!r}"))
    for key, member in value.items():
        allowed = allowed_values(_follow(desc, props.get(key))[1])
        if allowed is None:
            continue
        fix = f"{key}: {allowed[0]}" if len(allowed) == 1 else f"{key} one of {_show(allowed)}"
        if isinstance(member, str) and "$" in member:
            source = _input_of(wf, member)
            if source is None:
                continue
            name, given = source
            if given is None:
                conditions.append(f"$inputs.{name} is one of: {_show(allowed)}")
            elif not any(v in allowed for v in given):
                hard.append((f"needs {key} in {_show(allowed)} (input {name!r} never is)", fix))
        elif member not in allowed:
            hard.append((f"needs {key} in {_show(allowed)}, not {member!r}", fix))
    return hard, conditions


def variant_finding(
    desc: OpenAPIDescription, wf: m.Workflow, value: dict[str, Any], variants: list[Any]
) -> tuple[str, str | None] | None:
    """(message, fix) when no variant accepts ``value`` for every input value, else None."""
    excluded: list[tuple[str, list[tuple[str, str]]]] = []
    conditional: list[tuple[str, list[str]]] = []
    for index, raw in enumerate(variants):
        name, variant = _follow(desc, raw)
        if not isinstance(variant, dict):
            return None  # a variant weft cannot read: no verdict
        label = name or f"variant {index + 1}"
        hard, conditions = _obstacles(desc, wf, value, variant)
        if hard:
            excluded.append((label, hard))
        elif conditions:
            conditional.append((label, conditions))
        else:
            return None  # this variant accepts the payload whatever the inputs are
    reasons = "; ".join(f"{label} {_reasons(why)}" for label, why in excluded)
    if conditional:
        accepted = "; ".join(f"{label} only if {' and '.join(c)}" for label, c in conditional)
        message = (
            f"this object fits a variant of the request schema only under conditions the "
            f"workflow does not ensure: {accepted}. The other variants cannot accept it: "
            f"{reasons}"
        )
    else:
        message = f"no variant of the request schema accepts this object: {reasons}"
    fixes = [f"for {label}: {', '.join(f for _, f in why)}" for label, why in excluded]
    if conditional:
        fixes.append(f"or give the inputs an enum so that {conditional[0][0]} applies")
    return message, "; ".join(fixes) or None


def _reasons(why: list[tuple[str, str]]) -> str:
    """Join reasons, folding "requires 'a'", "requires 'b'" into "requires 'a', 'b'"."""
    required = [w.removeprefix("requires ") for w, _ in why if w.startswith("requires ")]
    other = [w for w, _ in why if not w.startswith("requires ")]
    return ", ".join(([f"requires {', '.join(required)}"] if required else []) + other)
