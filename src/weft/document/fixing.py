"""``weft lint --fix``: apply the pure-rewrite fixes (:class:`~weft.document.diagnostics.Edit`)
to the document's text, keeping everything else as it was.

YAML goes through a ruamel.yaml round trip (comments, key order, quoting and block styles are
kept; the indentation settings are the ones that reproduce the file unchanged). Where the
round trip would still re-lay a line out (trailing spaces, a plain scalar folded over several
lines), only the regions the fixes change are taken from it; the rest of the file stays
byte for byte. JSON documents are edited in place (each scalar's text replaced).

Nothing is written unless the result, parsed again, is exactly the original tree with the
edits applied; the file is written to a temporary file beside it and renamed over it, and
refused when it changed since it was read.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weft.document.diagnostics import Diagnostic, Edit
from weft.document.parse import parse_bytes
from weft.errors import DocumentError, WeftError
from weft.expressions.errors import ExpressionError
from weft.expressions.pointer import join_pointer, parse_pointer, set_pointer

# (mapping, sequence, offset) indentation candidates, the most common first
_INDENTS = [(2, 2, 0), (2, 4, 2), (4, 4, 0), (4, 6, 2), (4, 2, 0), (2, 3, 1), (4, 4, 2), (3, 3, 0)]


class FixError(WeftError):
    """The fixes cannot be applied safely (exit 2); the file is left as it was."""

    exit_code = 2


@dataclass(slots=True)
class FixResult:
    original: str
    fixed: str
    applied: list[Diagnostic] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.fixed != self.original


def fixable(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics whose fix is an edit, one per edited node (the first wins)."""
    seen: set[tuple[str, str | None]] = set()
    out = []
    for d in diagnostics:
        if d.edit is None:
            continue
        key = (d.edit.pointer, d.edit.key)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def fix_text(text: str, diagnostics: Sequence[Diagnostic], file: str) -> FixResult:
    """``text`` with every edit of ``diagnostics`` applied (FixError if that is not safe)."""
    chosen = fixable(diagnostics)
    if not chosen:
        return FixResult(text, text)
    edits = [d.edit for d in chosen if d.edit is not None]
    expected = _expected_tree(text, edits, file)
    if text.lstrip()[:1] in ("{", "["):
        fixed = _splice_json(text, edits, file)
    else:
        crlf = "\r\n" in text
        fixed = _ruamel(text.replace("\r\n", "\n") if crlf else text, edits, file)
        if crlf:
            fixed = fixed.replace("\n", "\r\n")
    try:
        again = parse_bytes(fixed.encode(), file).data
    except DocumentError as exc:
        raise FixError(
            "the fixed document would not parse; nothing was written", where=file, why=str(exc)
        ) from None
    if again != expected:
        raise FixError(
            "the fixes cannot be applied without changing other content; nothing was written",
            where=file,
            hint="apply the fixes shown by `weft lint` by hand",
        )
    return FixResult(text, fixed, chosen)


def _expected_tree(text: str, edits: Sequence[Edit], file: str) -> Any:
    tree = parse_bytes(text.encode(), file).data
    for edit in edits:
        pointer = (
            edit.pointer
            if edit.key is None
            else join_pointer([*parse_pointer(edit.pointer)[0], edit.key])
        )
        try:
            tree = set_pointer(tree, pointer, edit.value)
        except ExpressionError as exc:
            raise FixError(
                f"cannot apply a fix at {pointer}", where=file, why=exc.message
            ) from None
    return tree


# -- YAML (ruamel.yaml round trip) ----------------------------------------------------------------
def _yaml(indent: tuple[int, int, int]) -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return y


def _dump(y: Any, data: Any) -> str:
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()


def _ruamel(text: str, edits: Sequence[Edit], file: str) -> str:
    from ruamel.yaml.error import YAMLError

    try:
        best: tuple[int, tuple[int, int, int], str] | None = None
        for indent in _INDENTS:
            plain = _dump(_yaml(indent), _yaml(indent).load(text))
            if plain == text:
                best = (0, indent, plain)
                break
            distance = sum(
                1
                for line in difflib.ndiff(text.splitlines(), plain.splitlines())
                if line[:1] in "+-"
            )
            if best is None or distance < best[0]:
                best = (distance, indent, plain)
        assert best is not None
        _, indent, plain = best
        y = _yaml(indent)
        data = y.load(text)
        for edit in edits:
            _apply(data, edit, file)
        edited = _dump(y, data)
    except YAMLError as exc:
        raise FixError("cannot read the document for fixing", where=file, why=str(exc)) from None
    if plain == text:
        return edited
    return _merge(text, plain, edited)


def _apply(data: Any, edit: Edit, file: str) -> None:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    tokens = list(parse_pointer(edit.pointer)[0])
    if edit.key is None:
        if not tokens:
            raise FixError("cannot replace the whole document", where=file)
        *path, last = tokens
    else:
        path, last = tokens, edit.key
    node = data
    for token in path:
        node = node[int(token)] if isinstance(node, list) else node[token]
    if edit.key is not None:
        node[last] = edit.value
        return
    slot: Any = int(last) if isinstance(node, list) else last
    old = node[slot]
    value: Any = edit.value
    if isinstance(old, SingleQuotedScalarString):
        value = SingleQuotedScalarString(edit.value)
    elif isinstance(old, DoubleQuotedScalarString):
        value = DoubleQuotedScalarString(edit.value)
    node[slot] = value


def _merge(original: str, plain: str, edited: str) -> str:
    """Apply the changes ``plain -> edited`` onto ``original`` (``plain`` is ``original`` as
    the round trip lays it out): unchanged regions keep the original's bytes."""
    a, b, c = original.splitlines(True), plain.splitlines(True), edited.splitlines(True)
    b_to_a: dict[int, int] = {}  # lines equal but for trailing blanks count as the same
    a_key, b_key = [x.rstrip() for x in a], [x.rstrip() for x in b]
    for block in difflib.SequenceMatcher(None, a_key, b_key, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            b_to_a[block.b + k] = block.a + k
    out: list[str] = []
    a_pos = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, b, c, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        lo = i1  # widen to the nearest lines that exist unchanged in the original
        while lo > 0 and (lo - 1) not in b_to_a:
            lo -= 1
        hi = i2
        while hi < len(b) and hi not in b_to_a:
            hi += 1
        a_lo = b_to_a[lo - 1] + 1 if lo > 0 else 0
        a_hi = b_to_a[hi] if hi < len(b) else len(a)
        if a_lo < a_pos:
            raise FixError("two fixes touch the same lines; apply them one at a time")
        out += a[a_pos:a_lo]
        out += b[lo:i1] + c[j1:j2] + b[i2:hi]
        a_pos = a_hi
    out += a[a_pos:]
    return "".join(out)


# -- JSON (scalars replaced in place) ------------------------------------------------------------
def _splice_json(text: str, edits: Sequence[Edit], file: str) -> str:
    import yaml

    from weft.document.parse import compose

    root = compose(text.encode(), file)
    spans: list[tuple[int, int, str]] = []
    for edit in edits:
        node = root
        tokens = list(parse_pointer(edit.pointer)[0])
        for token in tokens:
            if isinstance(node, yaml.SequenceNode):
                node = node.value[int(token)]
            else:
                node = next(v for k, v in node.value if k.value == token)
        if edit.key is None:
            spans.append((node.start_mark.index, node.end_mark.index, json.dumps(edit.value)))
        else:
            at = node.start_mark.index + 1
            comma = ", " if node.value else ""
            spans.append((at, at, f"{json.dumps(edit.key)}: {json.dumps(edit.value)}{comma}"))
    chars = list(text)
    for start, end, new in sorted(spans, reverse=True):
        chars[start:end] = list(new)
    return "".join(chars)


# -- writing ---------------------------------------------------------------------------------------
def unified_diff(result: FixResult, path: str) -> str:
    return "".join(
        difflib.unified_diff(
            result.original.splitlines(True),
            result.fixed.splitlines(True),
            fromfile=f"{path} (before)",
            tofile=f"{path} (fixed)",
        )
    )


def write_fixed(path: str | os.PathLike[str], original: bytes, fixed: str) -> None:
    """Replace the file by ``fixed`` atomically; FixError when it changed since it was read."""
    target = Path(path)
    try:
        now = target.read_bytes()
    except OSError as exc:
        raise FixError("cannot read the document again", where=str(target), why=str(exc)) from None
    if now != original:
        raise FixError(
            "the document changed since it was read; nothing was written",
            where=str(target),
            hint="run weft lint --fix again",
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(fixed.encode())
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sarif_replacements(text: str, file: str) -> Any:
    """For SARIF: a function giving each fixable diagnostic's replacements (line regions of
    ``text`` and the text that replaces them), or None."""

    def replacements(d: Diagnostic) -> list[dict[str, Any]] | None:
        if d.edit is None:
            return None
        try:
            fixed = fix_text(text, [d], file).fixed
        except WeftError:
            return None
        a, b = text.splitlines(True), fixed.splitlines(True)
        out = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
            if tag == "equal":
                continue
            out.append(
                {
                    "deletedRegion": {
                        "startLine": i1 + 1,
                        "startColumn": 1,
                        "endLine": i2 + 1,
                        "endColumn": 1,
                    },
                    "insertedContent": {"text": "".join(b[j1:j2])},
                }
            )
        return out or None

    return replacements


__all__ = [
    "FixError",
    "FixResult",
    "fix_text",
    "fixable",
    "sarif_replacements",
    "unified_diff",
    "write_fixed",
]
