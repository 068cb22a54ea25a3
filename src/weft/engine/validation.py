"""Workflow inputs: schema ``default``s applied, then validated (JSON Schema 2020-12)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from weft.engine.plan import WorkflowPlan
from weft.errors import DocumentError, UsageError
from weft.secrets import SecretSet


def prepare_inputs(plan: WorkflowPlan, inputs: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """Inputs with top-level schema defaults filled in; :class:`UsageError` if invalid."""
    prepared = dict(inputs)
    for name, default in plan.defaults.items():
        prepared.setdefault(name, default)
    if plan.validator is None:
        return prepared
    fast = plan.fast_check
    if fast is not None and fast(prepared):
        return prepared  # certainly valid (fastcheck.py); otherwise jsonschema has the word
    try:
        errors = sorted(plan.validator.iter_errors(prepared), key=lambda e: list(e.path))
    except Exception as exc:  # jsonschema on a schema it cannot apply (``type: null``, ...)
        raise DocumentError(
            "its inputs schema cannot be applied",
            where=where,
            why=f"{type(exc).__name__}: {str(exc)[:200]}",
            hint="`weft validate DOC` checks the document; make the inputs a valid JSON Schema",
        ) from None
    if errors:
        # a secret input's value in any spelling (jsonschema quotes values with repr)
        secrets = SecretSet(prepared.get(name) for name in plan.secret_inputs)
        lines = []
        for err in errors[:5]:
            path = "/".join(str(p) for p in err.absolute_path) or "(inputs)"
            lines.append(f"{path}: {secrets.mask_str(err.message)}")
        raise UsageError(
            "the inputs do not match the workflow's inputs schema",
            where=where,
            why="; ".join(lines),
            hint="pass the missing or corrected values with -i name=value or --inputs FILE",
        )
    return prepared


def convert_cli_value(plan: WorkflowPlan, name: str, text: str) -> Any:
    """A ``-i name=value`` string converted to the type the inputs schema declares."""
    import orjson

    schema = plan.input_schema(name)
    types = schema.get("type") if isinstance(schema, Mapping) else None
    if isinstance(types, str):
        types = [types]
    if not types:
        # no declared type (e.g. only oneOf/anyOf): JSON objects and arrays are read as such
        if text.lstrip()[:1] in ("{", "["):
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                return text
        return text
    for t in types:
        try:
            if t == "string":
                return text
            if t == "integer":
                return int(text)
            if t == "number":
                value = float(text)
                return int(value) if value.is_integer() and "." not in text else value
            if t == "boolean":
                lowered = text.lower()
                if lowered in ("true", "1", "yes", "on"):
                    return True
                if lowered in ("false", "0", "no", "off"):
                    return False
                continue
            if t == "null" and text in ("null", ""):
                return None
            if t in ("array", "object"):
                value = orjson.loads(text)
                if (t == "array") == isinstance(value, list):
                    return value
                if (t == "array" and "," in text) or t == "array":
                    return [p.strip() for p in text.split(",")] if t == "array" else text
        except ValueError:
            if t == "array":
                return [p.strip() for p in text.split(",") if p.strip()]
            continue
    raise UsageError(
        f"input {name!r}: {text!r} is not a valid {' or '.join(types)}",
        hint=f"give {name} a value of type {' or '.join(types)}",
    )


__all__ = ["convert_cli_value", "prepare_inputs"]
