"""JSON as stored: orjson, with the secret scrub applied before anything is written."""

from __future__ import annotations

from typing import Any

import orjson

from weft.store.scrub import needs_scrub, scrub

_JSON_OPTS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return str(value)


def to_json(value: Any) -> str:
    """Serialise ``value`` for storage, scrubbing credential headers first when any may occur."""
    data = orjson.dumps(value, default=_default, option=_JSON_OPTS)
    if needs_scrub(data):
        data = orjson.dumps(scrub(value), default=_default, option=_JSON_OPTS)
    return data.decode()


def from_json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)
