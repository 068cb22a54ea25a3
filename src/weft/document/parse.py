"""Parse YAML or JSON bytes into a plain tree, optionally remembering where every node starts.

The C YAML parser composes a node tree; we build plain values from it ourselves (one pass), so
that mapping keys are always strings, timestamps stay strings (JSON compatibility), and alias
bombs, recursive aliases and overly deep nesting are refused with a clear
:class:`~weft.errors.DocumentError` instead of a hang or crash. With ``positions`` (the Arazzo
document) every node's ``(line, column)`` is recorded under its JSON Pointer; without
(OpenAPI descriptions) JSON goes through orjson and YAML skips the pointer bookkeeping.

The cyclic garbage collector is paused while a tree is built: the parser allocates millions of
small objects, and with the collector running most of the time went to rescanning them (a
3.7 MB description: 5 s with, 0.7 s without). It is restored afterwards.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml

from weft.document.model import Location
from weft.errors import DocumentError
from weft.expressions.pointer import escape_token

MAX_DEPTH = 256
MAX_NODES = 2_000_000
# Where a YAML anchor may be (``&name`` after a space, ``[``, ``{``, ``,`` or a line start);
# text that has none cannot have aliases. A false match only takes the careful path.
_ANCHOR = re.compile(rb"(?:^|[\s\[{,])&[^\s\]},]", re.MULTILINE)

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

# YAML 1.1 implicit types, without timestamps (dates stay strings, as in JSON)
_IMPLICIT = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for key, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


class _Loader(yaml.CSafeLoader):
    """The C safe loader without implicit timestamps, with a memoizing scalar resolver."""

    yaml_implicit_resolvers = _IMPLICIT

    def __init__(self, stream: bytes) -> None:
        super().__init__(stream)
        self._tags: dict[str, str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # Called by the C composer for every node: answer the common cases without the
        # generic resolver's list building and regex loop.
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            tag = self._tags.get(value)
            if tag is None:
                tag = _STR
                for candidate, regexp in _IMPLICIT.get(value[:1], ()):
                    if regexp.match(value):
                        tag = candidate
                        break
                self._tags[value] = tag
            return tag
        return _SEQ if kind is yaml.SequenceNode else _MAP


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a burst of allocations (restored afterwards)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(slots=True)
class Parsed:
    """A parsed document: the plain tree and the ``(line, column)`` of each node by pointer."""

    data: Any
    file: str
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def loc(self, pointer: str) -> Location:
        """Position of the node at ``pointer``, or of its nearest ancestor that has one."""
        positions = self.positions
        while True:
            found = positions.get(pointer)
            if found is not None:
                return Location(self.file, found[0], found[1])
            if not pointer:
                return Location(self.file, 1, 1)
            pointer = pointer.rsplit("/", 1)[0]

    def has(self, pointer: str) -> bool:
        return pointer in self.positions


class _Builder:
    def __init__(self, loader: _Loader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.positions: dict[str, tuple[int, int]] = {}
        self.memo: dict[int, tuple[Any, int]] = {}  # collections by node id (aliases share)
        self.active: set[int] = set()
        self.scalars: dict[tuple[str, str], Any] = {}
        self.total = 0

    def fail(self, node: yaml.Node, what: str, why: str) -> DocumentError:
        mark = node.start_mark
        return DocumentError(what, where=f"{self.file}:{mark.line + 1}:{mark.column + 1}", why=why)

    def scalar(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):
            return node.value
        key = (tag, node.value)
        try:
            return self.scalars[key]
        except KeyError:
            pass
        try:
            value = self.loader.construct_object(node)
        except yaml.YAMLError as exc:
            raise self.fail(node, "cannot read a YAML value", str(exc).splitlines()[0]) from None
        except (ValueError, TypeError) as exc:
            raise self.fail(node, "cannot read a YAML value", str(exc)) from None
        if not isinstance(value, list | dict):
            self.scalars[key] = value
        return value

    def key_text(self, node: yaml.Node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, "unsupported mapping key", "keys must be scalars")
        if node.tag == _STR:
            return str(node.value)
        value = self.scalar(node)
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value)

    def enter(self, node: yaml.Node, depth: int) -> tuple[Any, int] | None:
        """The shared value of a collection met again (an alias), else None after checks."""
        key = id(node)
        cached = self.memo.get(key)
        if cached is not None:
            self.total += cached[1]
            if self.total > MAX_NODES:
                raise self.fail(
                    node,
                    "document is too large once YAML aliases are expanded",
                    f"more than {MAX_NODES} nodes",
                )
            return cached
        if depth > MAX_DEPTH:
            raise self.fail(node, "document is nested too deeply", f"more than {MAX_DEPTH} levels")
        if key in self.active:
            raise self.fail(node, "recursive YAML alias", "a node contains itself")
        self.active.add(key)
        return None

    def leave(self, node: yaml.Node, result: Any, size: int) -> tuple[Any, int]:
        key = id(node)
        self.active.discard(key)
        self.total += 1
        if self.total > MAX_NODES:
            raise self.fail(node, "document is too large", f"more than {MAX_NODES} nodes")
        self.memo[key] = (result, size)
        return result, size

    # -- with positions ----------------------------------------------------------------------
    def build(self, node: yaml.Node, pointer: str, depth: int) -> tuple[Any, int]:
        positions = self.positions
        if pointer not in positions:
            mark = node.start_mark
            positions[pointer] = (mark.line + 1, mark.column + 1)
        if type(node) is yaml.ScalarNode:
            self.total += 1
            return self.scalar(node), 1
        cached = self.enter(node, depth)
        if cached is not None:
            return cached
        size = 1
        result: Any
        if type(node) is yaml.SequenceNode:
            result = []
            append = result.append
            for i, child in enumerate(node.value):
                value, n = self.build(child, f"{pointer}/{i}", depth + 1)
                size += n
                append(value)
        else:
            result = {}
            merges: list[Any] = []
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
                    value, n = self.build(value_node, pointer, depth + 1)
                    size += n
                    merges.extend(value if isinstance(value, list) else [value])
                    continue
                k = key_node.value if key_node.tag == _STR else self.key_text(key_node)
                value, n = self.build(value_node, f"{pointer}/{escape_token(k)}", depth + 1)
                size += n
                result[k] = value
            _merge(result, merges)
        return self.leave(node, result, size)

    # -- without positions, no anchors in the text (nothing can be shared) ------------------
    def tree(self, node: yaml.Node, depth: int) -> Any:
        if type(node) is yaml.ScalarNode:
            return node.value if node.tag == _STR else self.scalar(node)
        if depth > MAX_DEPTH:
            raise self.fail(node, "document is nested too deeply", f"more than {MAX_DEPTH} levels")
        depth += 1
        if type(node) is yaml.SequenceNode:
            return [self.tree(child, depth) for child in node.value]
        result: dict[str, Any] = {}
        merges: list[Any] = []
        for key_node, value_node in node.value:
            value = self.tree(value_node, depth)
            if key_node.tag == _MERGE:
                merges.extend(value if isinstance(value, list) else [value])
                continue
            k = key_node.value if key_node.tag == _STR else self.key_text(key_node)
            result[k] = value
        _merge(result, merges)
        return result

    # -- without positions -------------------------------------------------------------------
    def plain(self, node: yaml.Node, depth: int) -> tuple[Any, int]:
        if type(node) is yaml.ScalarNode:
            self.total += 1
            return self.scalar(node), 1
        cached = self.enter(node, depth)
        if cached is not None:
            return cached
        size = 1
        result: Any
        if type(node) is yaml.SequenceNode:
            result = []
            append = result.append
            for child in node.value:
                value, n = self.plain(child, depth + 1)
                size += n
                append(value)
        else:
            result = {}
            merges: list[Any] = []
            for key_node, value_node in node.value:
                value, n = self.plain(value_node, depth + 1)
                size += n
                if key_node.tag == _MERGE:
                    merges.extend(value if isinstance(value, list) else [value])
                    continue
                k = key_node.value if key_node.tag == _STR else self.key_text(key_node)
                result[k] = value
            _merge(result, merges)
        return self.leave(node, result, size)


def _merge(result: dict[str, Any], merges: list[Any]) -> None:
    for merged in merges:
        if isinstance(merged, dict):
            for k, v in merged.items():
                result.setdefault(k, v)


def compose(data: bytes, file: str) -> yaml.Node:
    """The YAML node tree of ``data`` (marks give each node's text span); DocumentError."""
    loader = _Loader(data)
    try:
        node = loader.get_single_node()
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DocumentError("not valid YAML or JSON", where=file, why=str(exc)) from None
    finally:
        loader.dispose()
    if node is None:
        raise DocumentError("the document is empty", where=file)
    return node


def parse_bytes(data: bytes, file: str, *, positions: bool = True) -> Parsed:
    """Parse YAML (or JSON) ``data``; DocumentError with ``file:line:col`` when it is not."""
    with collector_paused():
        return _parse(data, file, positions)


def _parse(data: bytes, file: str, positions: bool) -> Parsed:
    if not positions and data.lstrip()[:1] in (b"{", b"["):
        try:
            import orjson

            return Parsed(orjson.loads(data), file)
        except ValueError:
            pass  # fall back to YAML, which reports a position
    loader = _Loader(data)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
            why = exc.problem or str(exc)
            raise DocumentError("not valid YAML or JSON", where=where, why=why) from None
        except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:
            raise DocumentError("not valid YAML or JSON", where=file, why=str(exc)) from None
        except RecursionError:
            raise DocumentError("document is nested too deeply", where=file) from None
        if node is None:
            raise DocumentError("the document is empty", where=file)
        builder = _Builder(loader, file)
        try:
            if positions:
                value, _ = builder.build(node, "", 0)
            elif _ANCHOR.search(data) is None:
                value = builder.tree(node, 0)  # no anchor, so no alias: no sharing to track
            else:
                value, _ = builder.plain(node, 0)
        except RecursionError:
            raise DocumentError("document is nested too deeply", where=file) from None
        return Parsed(value, file, builder.positions)
    finally:
        loader.dispose()
