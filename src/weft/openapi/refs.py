"""``$ref`` resolution for OpenAPI descriptions: internal pointers and relative files.

Reference chains are followed with cycle detection (a ``$ref`` that leads back to itself is a
:class:`~weft.errors.DocumentError`, never a hang). :meth:`RefResolver.deep` returns a copy with
references replaced by their targets; a reference met again while it is being expanded
(a recursive schema) is left as the ``{"$ref": ...}`` object, so results are always finite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from weft.errors import DocumentError

LoadExternal = Callable[[str], Any]  # absolute URL (no fragment) -> parsed tree


def pointer_get(doc: Any, fragment: str) -> Any:
    """The node at a JSON Pointer fragment (``/a/b``); KeyError when absent."""
    fragment = unquote(fragment)
    if fragment in ("", "/"):
        return doc
    if not fragment.startswith("/"):
        raise KeyError(fragment)
    node = doc
    for raw_token in fragment[1:].split("/"):
        token = raw_token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(fragment)
    return node


def join(base: str, ref: str) -> str:
    """RFC 3986 resolution that also works for opaque base URIs (same-document refs)."""
    if ref.startswith("#"):
        return urldefrag(base)[0] + ref
    return urljoin(base, ref)


class RefResolver:
    def __init__(self, root: Any, url: str, load_external: LoadExternal | None = None) -> None:
        self.url = urldefrag(url)[0]
        self.docs: dict[str, Any] = {self.url: root}
        self.load_external = load_external
        self.memo: dict[str, Any] = {}

    def _doc(self, url: str, ref: str) -> Any:
        if url in self.docs:
            return self.docs[url]
        if self.load_external is None:
            raise DocumentError(
                f"cannot resolve $ref {ref!r}",
                where=self.url,
                why="references to other files are not supported here",
            )
        doc = self.load_external(url)
        self.docs[url] = doc
        return doc

    def lookup(self, ref: str, base: str) -> tuple[Any, str]:
        """Target of one ``$ref`` (not following further refs) and its document URL."""
        url, fragment = urldefrag(join(base, ref))
        doc = self._doc(url, ref)
        try:
            return pointer_get(doc, fragment), url
        except KeyError:
            raise DocumentError(
                f"$ref {ref!r} points at nothing",
                where=base,
                hint="check the JSON Pointer after '#'",
            ) from None

    def follow(self, node: Any, base: str | None = None) -> tuple[Any, str]:
        """Follow a chain of ``$ref`` objects to a non-reference node; detects cycles."""
        base = base or self.url
        seen: list[str] = []
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            key = join(base, node["$ref"])
            if key in seen:
                chain = " -> ".join([*seen, key])
                raise DocumentError(
                    "$ref cycle",
                    where=base,
                    why=chain,
                    hint="make one of these references point at a real object",
                )
            seen.append(key)
            node, base = self.lookup(node["$ref"], base)
        return node, base

    def deep(self, node: Any, base: str | None = None) -> Any:
        """A copy of ``node`` with references resolved (recursive ones left as ``$ref``)."""
        return self._deep(node, base or self.url, self.memo, set(), 0)

    def _deep(
        self, node: Any, base: str, memo: dict[str, Any], active: set[str], depth: int
    ) -> Any:
        if depth > 512:
            raise DocumentError("description is nested too deeply", where=base)
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                key = join(base, ref)
                if key in active:
                    return node
                if key in memo and len(node) == 1:
                    return memo[key]
                target, target_base = self.follow(node, base)
                active.add(key)
                try:
                    resolved = self._deep(target, target_base, memo, active, depth + 1)
                finally:
                    active.discard(key)
                if len(node) > 1 and isinstance(resolved, dict):  # 3.1: siblings of $ref
                    siblings = {
                        k: self._deep(v, base, memo, active, depth + 1)
                        for k, v in node.items()
                        if k != "$ref"
                    }
                    return {**resolved, **siblings}
                memo[key] = resolved
                return resolved
            return {k: self._deep(v, base, memo, active, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self._deep(v, base, memo, active, depth + 1) for v in node]
        return node

    def check_cycles(self) -> None:
        """Raise DocumentError if any ``$ref`` chain in the root document loops or dangles."""
        stack: list[Any] = [self.docs[self.url]]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
                    try:
                        self.follow(node)
                    except DocumentError as exc:
                        if exc.what == "$ref cycle":
                            raise
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
