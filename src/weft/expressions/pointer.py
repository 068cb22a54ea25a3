"""JSON Pointer (RFC 6901): parse once, resolve many times; "absent" is distinct from null."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from weft.expressions.context import ABSENT
from weft.expressions.errors import ExpressionError


def parse_pointer(pointer: str) -> tuple[tuple[str, ...], tuple[int | None, ...]]:
    """Split a pointer into unescaped reference tokens (and their array-index reading).

    Raises :class:`ExpressionError` when the pointer is not empty and does not start with ``/``,
    or when ``~`` is not followed by ``0`` or ``1``.
    """
    if pointer == "":
        return (), ()
    if not pointer.startswith("/"):
        raise ExpressionError("a JSON Pointer must be empty or start with '/'", pointer, 0)
    names: list[str] = []
    indexes: list[int | None] = []
    offset = 1
    for raw in pointer[1:].split("/"):
        tilde = raw.find("~")
        while tilde != -1:
            if tilde + 1 >= len(raw) or raw[tilde + 1] not in "01":
                raise ExpressionError(
                    "'~' in a JSON Pointer must be followed by 0 or 1", pointer, offset + tilde
                )
            tilde = raw.find("~", tilde + 2)
        name = raw.replace("~1", "/").replace("~0", "~")
        names.append(name)
        indexes.append(_as_index(name))
        offset += len(raw) + 1
    return tuple(names), tuple(indexes)


def _as_index(token: str) -> int | None:
    if token.isdigit() and token.isascii() and (token == "0" or token[0] != "0"):
        return int(token)
    return None


def escape_token(token: str) -> str:
    """Escape one reference token (``~`` -> ``~0``, ``/`` -> ``~1``)."""
    return token.replace("~", "~0").replace("/", "~1")


def join_pointer(tokens: Sequence[str]) -> str:
    """Build a pointer from unescaped tokens."""
    return "".join("/" + escape_token(t) for t in tokens)


def step(value: Any, name: str, index: int | None) -> Any:
    """One reference token applied to ``value``; ABSENT when there is nothing there."""
    if isinstance(value, Mapping):
        return value.get(name, ABSENT)
    if isinstance(value, list | tuple):
        if index is not None and index < len(value):
            return value[index]
        return ABSENT
    return ABSENT


def resolve_tokens(value: Any, names: tuple[str, ...], indexes: tuple[int | None, ...]) -> Any:
    """Resolve pre-parsed tokens (see :func:`parse_pointer`)."""
    for name, index in zip(names, indexes, strict=True):
        if value is ABSENT:
            return ABSENT
        if isinstance(value, dict):
            value = value.get(name, ABSENT)
        else:
            value = step(value, name, index)
    return value


def resolve_pointer(value: Any, pointer: str) -> Any:
    """The value at ``pointer`` inside ``value`` (``""`` is the whole value), or ``ABSENT``.

    A malformed pointer also gives ``ABSENT``; use :func:`parse_pointer` to validate one.
    """
    try:
        names, indexes = parse_pointer(pointer)
    except ExpressionError:
        return ABSENT
    return resolve_tokens(value, names, indexes)


def explain_tokens(
    value: Any, names: tuple[str, ...], indexes: tuple[int | None, ...]
) -> tuple[str, str] | None:
    """Where resolution stops: ``(missing_prefix, last_existing_prefix)``; None if it resolves."""
    if value is ABSENT:
        return "", ""
    for i, (name, index) in enumerate(zip(names, indexes, strict=True)):
        nxt = step(value, name, index)
        if nxt is ABSENT:
            return join_pointer(names[: i + 1]), join_pointer(names[:i])
        value = nxt
    return None


def _container_for(token: str) -> Any:
    return [] if token == "-" or _as_index(token) is not None else {}


def set_pointer(value: Any, pointer: str, new: Any) -> Any:
    """Return a copy of ``value`` with ``new`` placed at ``pointer``; ``value`` is not mutated.

    Only the containers along the path are copied (the rest is shared). Missing intermediate
    members are created (an object, or an array when the next token is an index or ``-``);
    ``-`` or an index equal to the length appends to an array. ``""`` replaces the whole value.
    Raises :class:`ExpressionError` for a malformed pointer or a path through a scalar or past
    the end of an array.
    """
    names, indexes = parse_pointer(pointer)
    return _set(value, names, indexes, 0, new, pointer)


def _set(
    value: Any,
    names: tuple[str, ...],
    indexes: tuple[int | None, ...],
    i: int,
    new: Any,
    pointer: str,
) -> Any:
    if i == len(names):
        return new
    name, index = names[i], indexes[i]
    if value is ABSENT or value is None:
        value = _container_for(name)
    if isinstance(value, Mapping):
        copy = dict(value)
        child = copy.get(name, ABSENT)
        if child is ABSENT and i + 1 < len(names):
            child = _container_for(names[i + 1])
        copy[name] = _set(child, names, indexes, i + 1, new, pointer)
        return copy
    if isinstance(value, list | tuple):
        items = list(value)
        if name == "-":
            index = len(items)
        if index is None or index > len(items):
            where = join_pointer(names[: i + 1])
            raise ExpressionError(f"no array element {where} to set", pointer)
        if index == len(items):
            child = _container_for(names[i + 1]) if i + 1 < len(names) else ABSENT
            items.append(_set(child, names, indexes, i + 1, new, pointer))
        else:
            items[index] = _set(items[index], names, indexes, i + 1, new, pointer)
        return items
    where = join_pointer(names[:i]) or "the root"
    raise ExpressionError(f"cannot set inside {where}: it is a {type(value).__name__}", pointer)
