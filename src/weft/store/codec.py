"""JSON documents as stored: orjson, scrubbed of secrets, compressed when long.

:func:`dump` serialises at call time (the caller's objects may change afterwards) without the
scrub; :func:`clean` applies the scrub to such bytes just before they are written. The store
buffers dumped records and cleans only those it actually writes (the latest state of a run, the
attempts the bounded history keeps), so superseded records never pay for the scrub.

A stored document is :func:`pack`-ed: the clean JSON as it is when it is short, else a zero
byte followed by its zlib compression (JSON never starts with a zero byte). The scrub always
runs on the JSON before compression, so no encoding of a secret is ever written.
:func:`unpack` reads both, and the TEXT documents of version-1 stores.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson

from weft.store.scrub import needs_scrub, scrub

_JSON_OPTS = orjson.OPT_NON_STR_KEYS

# documents at least this long are stored compressed (shorter ones gain too little)
COMPRESS_MIN = 512
# compression level by size: small documents compress well and fast at 6; large values
# (see weft.store.encoder) at 1, which is several times faster for a few percent more bytes
_LEVEL_SMALL, _LEVEL_LARGE, _LARGE = 6, 1, 64 * 1024
_ZLIB = b"\x00"


def default(value: Any) -> Any:
    """orjson's fallback for the types it does not serialise itself."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return str(value)


def compact(data: bytes) -> bytes:
    """``data`` in an allocation of its own size, for bytes kept a while (a cached part, a
    buffered record). orjson (3.12 on) hands back the buffer it wrote into, rounded up to a
    power of two and at least 4 KB: a 50-byte document kept as is holds 4 KB."""
    return memoryview(data).tobytes()


def dump(value: Any) -> bytes:
    """``value`` as JSON bytes, not yet scrubbed (see :func:`clean`)."""
    try:
        # without OPT_NON_STR_KEYS orjson is about twice as fast; the same bytes when every
        # key is a str, and an error (then the option) when one is not
        return orjson.dumps(value, default=default)
    except orjson.JSONEncodeError:
        return orjson.dumps(value, default=default, option=_JSON_OPTS)


def dump_mapping(value: Any) -> bytes:
    """:func:`dump` of a mapping (a plain ``dict`` is not copied first)."""
    return dump(value if type(value) is dict else dict(value))


def clean(data: bytes) -> bytes:
    """Dumped JSON ready to store: credential headers scrubbed when any may occur."""
    if needs_scrub(data):
        return orjson.dumps(scrub(orjson.loads(data)), option=_JSON_OPTS)
    return data


def pack(data: bytes) -> bytes:
    """Clean JSON as stored: compressed when it is long enough to gain from it."""
    if len(data) < COMPRESS_MIN:
        return data
    size = len(data)
    level = _LEVEL_LARGE if size >= _LARGE else _LEVEL_SMALL
    # a window that spans the whole document (deflate reaches back 262 bytes less than its
    # window) finds the same matches as the default 32 KB one, and a small one makes zlib
    # allocate (and fault in) far less memory per call: a 2 KB document compresses ~3x faster.
    # unpack reads any window (zlib's header says which)
    wbits = min(max((size + 262).bit_length(), 10), 15)
    return _ZLIB + zlib.compress(data, level, wbits)


def to_stored(value: Any) -> bytes:
    """``value`` dumped, scrubbed and packed."""
    return pack(clean(dump(value)))


def unpack_bytes(data: bytes | memoryview | str) -> bytes:
    """The JSON of a stored document."""
    if isinstance(data, str):
        return data.encode()
    raw = bytes(data)
    if raw[:1] == _ZLIB:
        return zlib.decompress(raw[1:])
    return raw


def unpack(data: bytes | memoryview | str | None) -> Any:
    """A stored document's value (``None`` for ``None``)."""
    if data is None:
        return None
    return orjson.loads(unpack_bytes(data))


__all__ = [
    "COMPRESS_MIN",
    "clean",
    "compact",
    "default",
    "dump",
    "dump_mapping",
    "pack",
    "to_stored",
    "unpack",
    "unpack_bytes",
]
