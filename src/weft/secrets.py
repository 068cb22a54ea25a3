"""Secrets: which values must never reach logs, events, results or the run store.

A value is secret when it is a workflow input declared ``format: password``, when it is sent in
a sensitive header (``Authorization``, ``Cookie``, ``*-Key``, ``*-Token``, ...), or when it is an
input referenced by such a header. :class:`SecretSet` collects those values as a run goes and
masks them wherever they appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

MASK = "***"
PLACEHOLDER_KEY = "$weftSecret"

_SENSITIVE_EXACT = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)
_SENSITIVE_SUFFIXES = ("-key", "-token", "-secret", "_key", "_token", "-password")
_SCHEMES = re.compile(r"^(bearer|basic|token|digest|apikey)\s+", re.IGNORECASE)
_INPUT_REF = re.compile(r"\$inputs\.([A-Za-z0-9_\-]+)")

# shortest value worth masking inside longer strings (avoid masking "1" everywhere)
_MIN_EMBEDDED = 6
# characters JSON text writes escaped: a secret holding one is not found verbatim in it
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


_NOT_SENSITIVE = frozenset({"idempotency-key"})  # ends in -Key but identifies a request


def is_sensitive_header(name: str) -> bool:
    lowered = name.lower()
    if lowered in _NOT_SENSITIVE:
        return False
    return lowered in _SENSITIVE_EXACT or lowered.endswith(_SENSITIVE_SUFFIXES)


def inputs_referenced(value: Any) -> set[str]:
    """Names of ``$inputs.<name>`` referenced anywhere in a (YAML) value."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(_INPUT_REF.findall(value))
    elif isinstance(value, Mapping):
        for v in value.values():
            found |= inputs_referenced(v)
    elif isinstance(value, list):
        for v in value:
            found |= inputs_referenced(v)
    return found


def password_inputs(schema: Any) -> set[str]:
    """Top-level input names whose schema says ``format: password`` (or ``writeOnly``)."""
    names: set[str] = set()
    if isinstance(schema, Mapping):
        props = schema.get("properties")
        if isinstance(props, Mapping):
            for name, sub in props.items():
                if isinstance(sub, Mapping) and (
                    sub.get("format") == "password" or sub.get("writeOnly") is True
                ):
                    names.add(str(name))
    return names


class SecretSet:
    """The secret values of one run, and masking helpers."""

    __slots__ = ("_plain", "_values")

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._plain = True  # every secret reads the same inside JSON text (no escapes)
        for v in values:
            self.add(v)

    def __bool__(self) -> bool:
        return bool(self._values)

    @property
    def version(self) -> int:
        """Grows whenever a secret is added (secrets are never removed): a masked copy made at
        one version is still right while the version stays the same."""
        return len(self._values)

    def add(self, value: Any) -> None:
        if not isinstance(value, str) or not value:
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._values.add(str(value))
            return
        self._values.add(value)
        stripped = _SCHEMES.sub("", value)
        if stripped and stripped != value:
            self._values.add(stripped)
        if _JSON_ESCAPED.search(value):
            self._plain = False

    def add_header_value(self, value: str) -> None:
        self.add(value)

    def is_secret(self, value: Any) -> bool:
        return isinstance(value, str) and value in self._values

    def mask_str(self, text: str) -> str:
        if text in self._values:
            return MASK
        for secret in self._values:
            if len(secret) >= _MIN_EMBEDDED and secret in text:
                text = text.replace(secret, MASK)
        return text

    def mask(self, value: Any) -> Any:
        """A copy of ``value`` with every secret string replaced by ``***``."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.mask_str(value)
        if self._plain and not self._maybe_inside(value):
            return value  # as when there are no secrets: nothing to replace, nothing copied
        if isinstance(value, Mapping):
            return {k: self.mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask(v) for v in value]
        return value

    def _maybe_inside(self, value: Any) -> bool:
        """Whether a secret may occur in ``value`` (a container): one look at its JSON text
        instead of a walk (``False`` only when no secret is a substring of that text)."""
        try:
            text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):
            return True  # not JSON (bytes, objects): walk it
        return any(secret in text for secret in self._values)

    def mask_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, MASK if is_sensitive_header(k) else self.mask_str(v)) for k, v in headers]


def placeholder(name: str) -> dict[str, str]:
    """What a snapshot stores instead of a secret value; resume refills it by ``name``."""
    return {PLACEHOLDER_KEY: name}


def is_placeholder(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and PLACEHOLDER_KEY in value


__all__ = [
    "MASK",
    "SecretSet",
    "inputs_referenced",
    "is_placeholder",
    "is_sensitive_header",
    "password_inputs",
    "placeholder",
]
