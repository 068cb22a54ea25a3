"""``$ref`` resolution for OpenAPI descriptions: internal pointers and relative files.

Lenient by design: a description written for other tools often has a reference that points
nowhere (or loops) in a part a workflow never uses. Nothing here raises for that while a
description is indexed: :meth:`RefResolver.scan` lists every broken reference as a
:class:`RefProblem` (where it is, what it says, why it does not resolve), and
:meth:`RefResolver.deep` leaves a broken reference in place as its ``{"$ref": ...}`` object and
reports it to the caller, who decides whether the part that holds it is needed.

Reference chains are followed with cycle detection; a reference met again while it is being
expanded (a recursive schema) is left as the ``{"$ref": ...}`` object, so results are finite.
JSON Pointer handling is :mod:`weft.expressions.pointer`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from weft.errors import DocumentError
from weft.expressions.context import ABSENT
from weft.expressions.pointer import escape_token, resolve_pointer

LoadExternal = Callable[[str], Any]  # absolute URL (no fragment) -> parsed tree

MAX_DEPTH = 512


@dataclass(frozen=True, slots=True)
class RefProblem:
    """A ``$ref`` that does not resolve: the document and pointer of the object holding it."""

    ref: str  # as written
    document: str  # URL (or path) of the document that holds the reference
    pointer: str  # JSON Pointer of the object with the "$ref" member inside that document
    why: str  # "points at nothing", "is part of a cycle: a -> b -> a", "cannot be read: ..."

    def describe(self) -> str:
        return f"$ref {self.ref!r} {self.why}"


class RefError(DocumentError):
    """One reference that does not resolve (carries the :class:`RefProblem`)."""

    def __init__(self, problem: RefProblem) -> None:
        self.problem = problem
        super().__init__(
            f"$ref {problem.ref!r} {problem.why}",
            where=problem.document,
            hint="check the JSON Pointer after '#' (and the file before it)",
        )


def pointer_get(doc: Any, fragment: str) -> Any:
    """The node at a URI fragment's JSON Pointer (``/a/b``, percent-decoded); KeyError if none."""
    found = resolve_pointer(doc, unquote(fragment))
    if found is ABSENT:
        raise KeyError(fragment)
    return found


def join(base: str, ref: str) -> str:
    """RFC 3986 resolution that also works for opaque base URIs (same-document refs)."""
    if ref.startswith("#"):
        return urldefrag(base)[0] + ref
    return urljoin(base, ref)


class RefResolver:
    def __init__(self, root: Any, url: str, load_external: LoadExternal | None = None) -> None:
        self.url = urldefrag(url)[0]
        self.docs: dict[str, Any] = {self.url: root}
        self.unreadable: dict[str, str] = {}  # url -> why
        self.load_external = load_external
        self.memo: dict[str, Any] = {}  # absolute reference -> resolved copy
        self._origin: dict[int, str] = {}  # id(resolved copy) -> absolute reference
        self._targets: dict[tuple[str, str], tuple[Any, str]] = {}
        self._problems: list[RefProblem] | None = None

    # -- one reference ------------------------------------------------------------------------
    def _doc(self, url: str, ref: str, pointer: str, base: str) -> Any:
        if url in self.docs:
            return self.docs[url]
        why = self.unreadable.get(url)
        if why is None:
            if self.load_external is None:
                why = "points to another file, which cannot be read here"
            else:
                try:
                    doc = self.load_external(url)
                except DocumentError as exc:
                    why = f"points to a file that cannot be read ({exc.what})"
                else:
                    self.docs[url] = doc
                    return doc
            self.unreadable[url] = why
        raise RefError(RefProblem(ref, urldefrag(base)[0], pointer, why))

    def lookup(self, ref: str, base: str, pointer: str = "") -> tuple[Any, str]:
        """Target of one ``$ref`` (not following further refs) and its document URL.

        ``pointer`` says where the reference is (for the :class:`RefError` it may raise).
        """
        key = (base, ref)
        cached = self._targets.get(key)
        if cached is not None:
            return cached
        url, fragment = urldefrag(join(base, ref))
        doc = self._doc(url, ref, pointer, base)
        try:
            found = (pointer_get(doc, fragment), url)
        except KeyError:
            raise RefError(
                RefProblem(ref, urldefrag(base)[0], pointer, "points at nothing")
            ) from None
        self._targets[key] = found
        return found

    def follow(self, node: Any, base: str | None = None, pointer: str = "") -> tuple[Any, str]:
        """Follow a chain of ``$ref`` objects to a non-reference node; RefError on a broken
        link or a cycle."""
        base = base or self.url
        seen: list[str] = []
        first = node.get("$ref") if isinstance(node, dict) else None
        start_base = base
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            key = join(base, ref)
            if key in seen:
                chain = " -> ".join([*seen, key])
                raise RefError(
                    RefProblem(
                        str(first),
                        urldefrag(start_base)[0],
                        pointer,
                        f"is part of a cycle: {chain}",
                    )
                )
            seen.append(key)
            node, base = self.lookup(ref, base, pointer if len(seen) == 1 else _fragment(seen[-2]))
        return node, base

    def origin(self, resolved: Any) -> str | None:
        """The absolute reference a resolved copy came from (``…#/components/schemas/Pet``)."""
        return self._origin.get(id(resolved))

    # -- deep copies ---------------------------------------------------------------------------
    def deep(
        self,
        node: Any,
        base: str | None = None,
        pointer: str = "",
        problems: list[RefProblem] | None = None,
    ) -> Any:
        """A copy of ``node`` (found at ``pointer`` of ``base``) with references resolved.

        Recursive references are left as ``$ref``. A broken reference raises RefError, or, when
        ``problems`` is given, is left in place and appended there.
        """
        return self._deep(node, base or self.url, pointer, set(), 0, problems)

    def _deep(
        self,
        node: Any,
        base: str,
        pointer: str,
        active: set[str],
        depth: int,
        problems: list[RefProblem] | None,
    ) -> Any:
        if depth > MAX_DEPTH:
            raise DocumentError("description is nested too deeply", where=f"{base}#{pointer}")
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                key = join(base, ref)
                if key in active:
                    return node
                memo = self.memo
                if key in memo and len(node) == 1:
                    return memo[key]
                try:
                    target, target_base = self.follow(node, base, pointer)
                except RefError as exc:
                    if problems is None:
                        raise
                    problems.append(exc.problem)
                    return node
                active.add(key)
                try:
                    resolved = self._deep(
                        target, target_base, _fragment(key), active, depth + 1, problems
                    )
                finally:
                    active.discard(key)
                if len(node) > 1 and isinstance(resolved, dict):  # 3.1: siblings of $ref
                    siblings = {
                        k: self._deep(
                            v, base, f"{pointer}/{escape_token(k)}", active, depth + 1, problems
                        )
                        for k, v in node.items()
                        if k != "$ref"
                    }
                    return {**resolved, **siblings}
                memo[key] = resolved
                self._origin[id(resolved)] = key
                return resolved
            return {
                k: self._deep(v, base, f"{pointer}/{escape_token(k)}", active, depth + 1, problems)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [
                self._deep(v, base, f"{pointer}/{i}", active, depth + 1, problems)
                for i, v in enumerate(node)
            ]
        return node

    # -- every reference -----------------------------------------------------------------------
    def scan(self) -> list[RefProblem]:
        """Every ``$ref`` of the description (and of the files it references) that points
        nowhere, loops, or names a file that cannot be read; computed once."""
        if self._problems is not None:
            return self._problems
        problems: list[RefProblem] = []
        verdicts: dict[tuple[str, str], str | None] = {}
        done: set[str] = set()
        queue = [self.url]
        while queue:
            url = queue.pop()
            if url in done or url not in self.docs:
                continue
            done.add(url)
            for ref, parent in _refs(self.docs[url]):
                key = (url, ref)
                if key not in verdicts:
                    try:
                        _, target_base = self.follow({"$ref": ref}, url)
                        verdicts[key] = None
                        if target_base not in done:
                            queue.append(target_base)
                    except RefError as exc:
                        verdicts[key] = exc.problem.why
                    target_url = urldefrag(join(url, ref))[0]
                    if target_url in self.docs and target_url not in done:
                        queue.append(target_url)
                why = verdicts[key]
                if why is not None:
                    problems.append(RefProblem(ref, url, _pointer_of(parent), why))
        self._problems = problems
        return problems


def _fragment(key: str) -> str:
    return unquote(urldefrag(key)[1])


_Entry = tuple[Any, str | int, Any]  # (node, token in its parent, parent entry)


def _refs(root: Any) -> list[tuple[str, _Entry]]:
    """Every ``$ref`` string in a tree, with a link to where it is (pointer built on demand)."""
    found: list[tuple[str, _Entry]] = []
    stack: list[_Entry] = [(root, "", None)]
    pop, push = stack.pop, stack.append
    while stack:
        entry = pop()
        node = entry[0]
        if type(node) is dict:
            ref = node.get("$ref")
            if type(ref) is str:
                found.append((ref, entry))
            for k, v in node.items():
                if type(v) is dict or type(v) is list:
                    push((v, k, entry))
        elif type(node) is list:
            for i, v in enumerate(node):
                if type(v) is dict or type(v) is list:
                    push((v, i, entry))
    return found


def _pointer_of(entry: _Entry | None) -> str:
    tokens: list[str] = []
    while entry is not None and entry[2] is not None:
        tokens.append(escape_token(str(entry[1])))
        entry = entry[2]
    return "".join("/" + t for t in reversed(tokens))
