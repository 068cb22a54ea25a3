"""JSON as stored: orjson, with the secret scrub applied before anything is written.

:func:`dump` serialises at call time (the caller's objects may change afterwards) without the
scrub; :func:`clean` applies the scrub to such bytes just before they are written. The store
buffers dumped records and cleans only those it actually writes (the latest state of a run, the
attempts the bounded history keeps), so superseded records never pay for the scrub.
"""

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


def dump(value: Any) -> bytes:
    """``value`` as JSON bytes, not yet scrubbed (see :func:`clean`)."""
    try:
        # without OPT_NON_STR_KEYS orjson is about twice as fast; the same bytes when every
        # key is a str, and an error (then the option) when one is not
        return orjson.dumps(value, default=_default)
    except orjson.JSONEncodeError:
        return orjson.dumps(value, default=_default, option=_JSON_OPTS)


def dump_mapping(value: Any) -> bytes:
    """:func:`dump` of a mapping (a plain ``dict`` is not copied first)."""
    return dump(value if type(value) is dict else dict(value))


def clean(data: bytes) -> str:
    """Dumped JSON ready to store: credential headers scrubbed when any may occur."""
    if needs_scrub(data):
        data = orjson.dumps(scrub(orjson.loads(data)), option=_JSON_OPTS)
    return data.decode()


def to_json(value: Any) -> str:
    """Serialise ``value`` for storage, scrubbing credential headers first when any may occur."""
    return clean(dump(value))


def from_json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)
