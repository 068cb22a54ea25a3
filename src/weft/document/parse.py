"""Parse YAML or JSON bytes into a plain tree, remembering where every node starts.

The C YAML parser composes a node tree; we build plain values from it ourselves (one pass), so
that every node's position is recorded under its JSON Pointer, mapping keys are always strings,
timestamps stay strings (JSON compatibility), and alias bombs, recursive aliases and overly deep
nesting are refused with a clear :class:`~weft.errors.DocumentError` instead of a hang or crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from weft.document.model import Location
from weft.errors import DocumentError

MAX_DEPTH = 256
MAX_NODES = 2_000_000

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.CSafeLoader):
    """The C safe loader without implicit timestamps (dates stay strings, as in JSON)."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for key, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(slots=True)
class Parsed:
    """A parsed document: the plain tree and the position of each node by JSON Pointer."""

    data: Any
    file: str
    positions: dict[str, Location] = field(default_factory=dict)

    def loc(self, pointer: str) -> Location:
        """Position of the node at ``pointer``, or of its nearest ancestor that has one."""
        while True:
            found = self.positions.get(pointer)
            if found is not None:
                return found
            if not pointer:
                return Location(self.file, 1, 1)
            pointer = pointer.rsplit("/", 1)[0]


def escape(token: str) -> str:
    """Escape one JSON Pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


class _Builder:
    def __init__(self, loader: _Loader, file: str, with_positions: bool) -> None:
        self.loader = loader
        self.file = file
        self.positions: dict[str, Location] | None = {} if with_positions else None
        self.memo: dict[int, tuple[Any, int]] = {}
        self.active: set[int] = set()
        self.total = 0

    def fail(self, node: yaml.Node, what: str, why: str) -> DocumentError:
        mark = node.start_mark
        return DocumentError(what, where=f"{self.file}:{mark.line + 1}:{mark.column + 1}", why=why)

    def build(self, node: yaml.Node, pointer: str, depth: int) -> tuple[Any, int]:
        if self.positions is not None and pointer not in self.positions:
            mark = node.start_mark
            self.positions[pointer] = Location(self.file, mark.line + 1, mark.column + 1)
        key = id(node)
        cached = self.memo.get(key)
        if cached is not None:  # an alias: share the value, count its expanded size
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
        if isinstance(node, yaml.ScalarNode):
            self.total += 1
            if node.tag == _STR or node.tag == _TIMESTAMP:
                return node.value, 1
            try:
                return self.loader.construct_object(node), 1
            except yaml.YAMLError as exc:
                raise self.fail(
                    node, "cannot read a YAML value", str(exc).splitlines()[0]
                ) from None
        if key in self.active:
            raise self.fail(node, "recursive YAML alias", "a node contains itself")
        self.active.add(key)
        size = 1
        self.total += 1
        result: Any
        if isinstance(node, yaml.SequenceNode):
            result = []
            for i, child in enumerate(node.value):
                value, n = self.build(child, f"{pointer}/{i}", depth + 1)
                size += n
                result.append(value)
        else:
            result = {}
            merges: list[dict[str, Any]] = []
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
                    value, n = self.build(value_node, pointer, depth + 1)
                    size += n
                    merges.extend(value if isinstance(value, list) else [value])
                    continue
                if isinstance(key_node, yaml.ScalarNode):
                    k = key_node.value if key_node.tag == _STR else _key_text(self, key_node)
                else:
                    raise self.fail(key_node, "unsupported mapping key", "keys must be scalars")
                value, n = self.build(value_node, f"{pointer}/{escape(k)}", depth + 1)
                size += n
                result[k] = value
            for merged in merges:
                if isinstance(merged, dict):
                    for k, v in merged.items():
                        result.setdefault(k, v)
        self.active.discard(key)
        if self.total > MAX_NODES:
            raise self.fail(node, "document is too large", f"more than {MAX_NODES} nodes")
        self.memo[key] = (result, size)
        return result, size


def _key_text(builder: _Builder, node: yaml.ScalarNode) -> str:
    value = builder.loader.construct_object(node)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, str) else value


def parse_bytes(data: bytes, file: str, *, positions: bool = True) -> Parsed:
    """Parse YAML (or JSON) ``data``; DocumentError with ``file:line:col`` when it is not."""
    stripped = data.lstrip()
    if not positions and stripped[:1] in (b"{", b"["):
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
        if node is None:
            raise DocumentError("the document is empty", where=file)
        builder = _Builder(loader, file, positions)
        try:
            value, _ = builder.build(node, "", 0)
        except RecursionError:
            raise DocumentError("document is nested too deeply", where=file) from None
        return Parsed(value, file, builder.positions or {})
    finally:
        loader.dispose()
