"""Each value serialised once, and each large one stored once.

The engine hands the store :class:`~weft.effects.Frozen` states and records — nothing in them
ever changes — and reuses their parts by identity from one state to the next (a step's outputs
stay the same object until that step runs again). :class:`Encoder` serialises such a part (a
``Frozen`` one anywhere; in a ``Frozen`` document, any mapping down to :data:`MAX_DEPTH`) the
first time it meets it and keeps the bytes while the object is in use (identity cache, per run):
later documents splice the cached JSON in (``orjson.Fragment``) instead of serialising it
again. A plain (mutable) document is serialised at once, cached parts spliced in, and adds
nothing to the cache but its ``Frozen`` parts.

Until a document of the run reaches :data:`VALUE_MIN` bytes, none of its parts can be a value
and each document is serialised by one orjson call (cheaper than looking its parts up); from
the first one that does, parts are cached as described.

A ``Frozen`` part whose JSON reaches :data:`VALUE_MIN` bytes becomes a :class:`Value`: it is
stored once per run in ``run_values`` under its content digest, and the document holds
``{"$weftValue": "<digest>"}`` in its place (see :mod:`weft.store.values`). A 10 MB step output
therefore costs one serialisation and one write, whatever number of checkpoints follow.

The cache of a run holds the parts met while encoding its last two states (and the records
since), so an object the engine dropped is released one state later.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from weft.effects import Frozen
from weft.store.codec import clean, compact, default, dump_mapping, pack

# a Frozen part whose JSON is at least this long is stored once in run_values
VALUE_MIN = 16 * 1024
REF_KEY = "$weftValue"

_PASS = orjson.OPT_PASSTHROUGH_SUBCLASS
_PASS_KEYS = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_NON_STR_KEYS


@dataclass(slots=True, eq=False)
class Value:
    """A large ``Frozen`` part: its digest, its packed clean JSON (dropped once written; made
    again from ``obj`` if it must be written again) and the values it references itself."""

    digest: str
    obj: Mapping[str, Any]
    packed: bytes | None
    nested: tuple[Value, ...]
    encoder: Encoder

    def data(self) -> bytes:
        packed = self.packed
        if packed is None:
            packed = self.encoder.remake(self)
        return packed


@dataclass(slots=True)
class Doc:
    """A document ready to be written: its JSON (not yet scrubbed) and the values it
    references (directly, or through parts spliced in)."""

    raw: bytes
    values: tuple[Value, ...] = ()

    def stored(self) -> tuple[bytes, tuple[Value, ...]]:
        """The packed clean JSON and every value it needs, nested ones included.

        A value whose reference the scrub masked (say it stood under a credential-named key)
        is not written at all."""
        data = clean(self.raw)
        values = self.values
        if values and data is not self.raw:
            values = tuple(v for v in values if v.digest.encode() in data)
        return pack(data), closure(values)


def closure(values: tuple[Value, ...]) -> tuple[Value, ...]:
    if not values or not any(v.nested for v in values):
        return values
    seen: dict[str, Value] = {}
    todo = list(values)
    while todo:
        v = todo.pop()
        if v.digest not in seen:
            seen[v.digest] = v
            todo.extend(v.nested)
    return tuple(seen.values())


@dataclass(slots=True, eq=False)
class _Entry:
    obj: Mapping[str, Any]
    fragment: orjson.Fragment
    values: tuple[Value, ...]  # referenced by the fragment (itself, when it is a value)
    gen: int


@dataclass(slots=True)
class _RunCache:
    entries: dict[int, _Entry] = field(default_factory=dict)
    # the run's values by the digest of their JSON before the scrub (in memory only): two
    # objects with the same content (a step's outputs and their masked copy) share one value
    by_content: dict[bytes, Value] = field(default_factory=dict)
    gen: int = 0
    # a document of the run reached VALUE_MIN: from then on its parts are cached (before, each
    # document is one orjson call: faster than splicing parts when none can be a value)
    large: bool = False


# how deep into a document parts are looked up (and, in a Frozen document, cached) by identity:
# deep enough for a state's step outputs (state → frames → frame → stepOutputs → outputs) and
# its step results; what lies deeper is serialised with its part
MAX_DEPTH = 4


class _Walk:
    """One serialisation: splices cached parts in, and is orjson's ``default`` hook for the
    ``Frozen`` parts deeper down; collects the values met."""

    __slots__ = ("cache", "collected", "encoder", "trusted")

    def __init__(self, encoder: Encoder, cache: _RunCache, trusted: bool) -> None:
        self.encoder = encoder
        self.cache = cache
        # a Frozen document: nothing in it ever changes, so any part may be cached
        self.trusted = trusted
        self.collected: list[Value] = []

    def dumps(self, value: Any) -> bytes:
        try:
            return orjson.dumps(value, default=self.hook, option=_PASS)
        except orjson.JSONEncodeError:
            return orjson.dumps(value, default=self.hook, option=_PASS_KEYS)

    def splice(self, obj: Any, depth: int) -> Any:
        """``obj`` with its cached (or cacheable) parts down to MAX_DEPTH as fragments."""
        kind = type(obj)
        if kind is dict or kind is Frozen:
            if depth:
                entry = self.cache.entries.get(id(obj))
                if entry is not None and entry.obj is obj:
                    return self.use(entry)
                if kind is Frozen or self.trusted:
                    return self.use(self.entry(obj, depth))
            if depth >= MAX_DEPTH:
                return obj  # (a Frozen part deeper down reaches ``hook``)
            return {k: self.splice(v, depth + 1) for k, v in obj.items()}
        if kind is list and depth < MAX_DEPTH:
            return [self.splice(v, depth + 1) for v in obj]
        return obj

    def use(self, entry: _Entry) -> orjson.Fragment:
        entry.gen = self.cache.gen
        if entry.values:
            self.collected.extend(entry.values)
        return entry.fragment

    def hook(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            if type(obj) is not Frozen:
                return dict(obj)
            entry = self.cache.entries.get(id(obj))
            if entry is None or entry.obj is not obj:
                entry = self.entry(obj, MAX_DEPTH)
            return self.use(entry)
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, list):
            return list(obj)
        return default(obj)

    def entry(self, obj: Mapping[str, Any], depth: int) -> _Entry:
        """Serialise a part (its own parts spliced in) and cache it."""
        outer, self.collected = self.collected, []
        try:
            if depth >= MAX_DEPTH:
                raw = self.dumps(dict(obj))
            else:
                raw = self.dumps({k: self.splice(v, depth + 1) for k, v in obj.items()})
            nested = tuple(self.collected)
        finally:
            self.collected = outer
        if len(raw) < VALUE_MIN:
            entry = _Entry(obj, orjson.Fragment(compact(raw)), nested, self.cache.gen)
        else:
            content = hashlib.sha256(raw).digest()
            value = self.cache.by_content.get(content)
            if value is None:
                value = self.encoder.value(obj, raw, nested, content)
                self.cache.by_content[content] = value
            ref = b'{"' + REF_KEY.encode() + b'":"' + value.digest.encode() + b'"}'
            entry = _Entry(obj, orjson.Fragment(ref), (value,), self.cache.gen)
        self.cache.entries[id(obj)] = entry
        return entry


class Encoder:
    """Serialises states and records of many runs, each ``Frozen`` part once (see above)."""

    def __init__(self) -> None:
        self._runs: dict[str, _RunCache] = {}
        self._lock = threading.Lock()

    def _cache(self, run_id: str) -> _RunCache:
        cache = self._runs.get(run_id)
        if cache is None:
            with self._lock:
                cache = self._runs.setdefault(run_id, _RunCache())
        return cache

    def encode(self, run_id: str, value: Mapping[str, Any], *, state: bool = False) -> Doc:
        """``value`` as a :class:`Doc`. ``state``: it is the run's new state (a later state
        releases the parts this one no longer uses)."""
        cache = self._cache(run_id)
        if not cache.large:
            raw = dump_mapping(value)  # the same bytes the walk would make
            if len(raw) < VALUE_MIN:
                return Doc(compact(raw))  # no part of it can be a value
            cache.large = True
        walk = _Walk(self, cache, trusted=type(value) is Frozen)
        raw = walk.dumps(walk.splice(value if type(value) in (dict, Frozen) else dict(value), 0))
        if state:
            keep = cache.gen - 1
            # list(): the flusher thread may encode a record of this run meanwhile
            cache.entries = {k: e for k, e in list(cache.entries.items()) if e.gen >= keep}
            live = {v.digest for e in cache.entries.values() for v in e.values}
            cache.by_content = {k: v for k, v in list(cache.by_content.items()) if v.digest in live}
            cache.gen += 1
        return Doc(compact(raw), tuple(walk.collected))

    def forget(self, run_id: str) -> None:
        """The run ended: release its cached parts."""
        with self._lock:
            self._runs.pop(run_id, None)

    def value(
        self, obj: Mapping[str, Any], raw: bytes, nested: tuple[Value, ...], content: bytes
    ) -> Value:
        """A new value of ``obj`` (``raw``: its JSON, ``content``: the SHA-256 of ``raw``)."""
        data = clean(raw)
        # its digest is that of the clean JSON: the raw one's when the scrub changed nothing
        digest = (content if data is raw else hashlib.sha256(data).digest()).hex()[:32]
        return Value(digest, obj, pack(data), nested, self)

    def remake(self, value: Value) -> bytes:
        """The packed JSON of a value again (it was dropped after it was written)."""
        walk = _Walk(self, _RunCache(), trusted=False)
        return pack(clean(walk.dumps(walk.splice(dict(value.obj), 0))))


__all__ = ["REF_KEY", "VALUE_MIN", "Doc", "Encoder", "Value", "closure"]
