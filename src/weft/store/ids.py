"""Run ids: sortable, URL-safe, and usable as Civitai's ``externalId``.

A run id is a ULID in Crockford base 32 (26 characters, ``[0-9A-Z]``): 48 bits of milliseconds
followed by 80 random bits. Ids made later sort after ids made earlier; ids made in the same
millisecond by one process are strictly increasing. The alphabet is a subset of
``[A-Za-z0-9_-]`` so the id matches Civitai's ``^[A-Za-z0-9_-]{1,128}$``.
"""

from __future__ import annotations

import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_run_id() -> str:
    """A new run id: 26 characters, time-sortable, ``[0-9A-Z]`` only."""
    global _last_ms, _last_rand
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # same (or an earlier, after a clock step) millisecond: keep increasing
            ms = _last_ms
            rand = _last_rand + 1
            if rand >= 1 << 80:  # pragma: no cover - 2**80 ids in one millisecond
                ms += 1
                rand = int.from_bytes(os.urandom(10), "big") >> 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last_ms, _last_rand = ms, rand
    return _encode(ms, 10) + _encode(rand, 16)


def is_valid_run_id(run_id: str) -> bool:
    """Whether ``run_id`` is acceptable as a run id (URL-safe, ≤ 40 characters)."""
    return bool(RUN_ID_PATTERN.match(run_id))
