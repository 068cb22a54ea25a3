"""Command-line values every command reads the same way: ``--server NAME=URL``, ``-i name=value``,
``--inputs FILE`` (JSON or YAML), and JSON output.

Every bad value is one :class:`~weft.errors.UsageError` (exit 2): a file too large or endless
(``/dev/zero``), nested too deep, with a recursive YAML alias, or with a number no JSON reader
could keep, never a traceback or a hang.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from weft.errors import UsageError

if TYPE_CHECKING:
    from weft.engine.plan import WorkflowPlan

STORE_HELP = "Run store: a path or postgresql:// URL (default: per-user; env WEFT_STORE)."
MAX_INPUTS_BYTES = 64 * 1024 * 1024  # an inputs file larger than this is refused
MAX_DEPTH = 200  # nesting of an input value
MAX_VALUES = 10_000_000  # values an input expands to (YAML aliases repeat theirs)
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what a 64-bit JSON reader (and the store) keeps


def parse_servers(values: Iterable[str], known: Iterable[str] | None = None) -> dict[str, str]:
    """``--server NAME=URL`` values. With ``known`` (the document's source names), a name that
    is not one of them is an error listing them."""
    names = list(known) if known is not None else None
    servers: dict[str, str] = {}
    for item in values:
        name, sep, url = item.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not name or not url:
            raise UsageError(f"--server {item!r} is not NAME=URL", hint="--server api=http://...")
        if names is not None and name not in names:
            listed = ", ".join(names) or "(the document has no source descriptions)"
            raise UsageError(
                f"--server {name!r}: the document has no source description named {name!r}",
                why=f"its sources are: {listed}",
                hint="`weft describe DOC` lists each source and the server URL it would use",
            )
        servers[name] = url
    return servers


def read_inputs_file(path: str | None) -> dict[str, Any]:
    """The input values of a JSON or YAML file (an object of name: value)."""
    if path is None:
        return {}
    data = read_values_file(path, what="inputs file")
    if not isinstance(data, dict):
        raise UsageError(
            f"inputs file {path} must hold an object of input values",
            why=f"it holds a {type(data).__name__}",
            hint='write {"name": value, ...} (JSON) or name: value lines (YAML)',
        )
    return data


def read_values_file(path: str, *, what: str) -> Any:
    """A JSON or YAML value from a file, bounded in size and nesting."""
    try:
        with Path(path).open("rb") as f:
            text = f.read(MAX_INPUTS_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}", why=exc.strerror or str(exc)) from exc
    if len(text) > MAX_INPUTS_BYTES:
        raise UsageError(
            f"{what} {path} is larger than {MAX_INPUTS_BYTES // (1024 * 1024)} MiB",
            why="it may not be a file of values (a device, an endless stream)",
            hint=f"pass a JSON or YAML file of values as the {what}",
        )
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as json_error:
        data = _yaml(text, path, what, json_error)
    check_value(data, f"{what} {path}")
    return data


def _yaml(text: bytes, path: str, what: str, json_error: Exception) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        looks_json = text.lstrip()[:1] in (b"{", b"[")
        why = str(json_error) if looks_json else str(exc)
        raise UsageError(f"{what} {path} is not JSON or YAML", why=why.splitlines()[0]) from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise UsageError(f"{what} {path} cannot be read", why=type(exc).__name__) from exc


def check_value(value: Any, where: str) -> None:
    """Refuse a value nested deeper than :data:`MAX_DEPTH`, holding itself (a recursive YAML
    alias), expanding to more than :data:`MAX_VALUES` values (aliases of aliases: "a billion
    laughs"), with an integer beyond 64 bits, or with text that is not UTF-8 (a command-line
    argument's undecodable bytes): walked once per object, without recursion.

    A value shared by aliases (``b: *a``) is fine: each object's height and expanded size are
    worked out once and reused wherever it appears again."""
    done: dict[int, tuple[int, int]] = {}  # id -> (height, expanded size) of a checked container
    on_path: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(value, 0, False)]
    while stack:
        item, depth, leaving = stack.pop()
        if leaving:
            children = item.values() if isinstance(item, dict) else item
            height, size = 1, 1
            for child in children:
                h, n = done.get(id(child), (0, 1))
                height, size = max(height, h + 1), size + n
            if size > MAX_VALUES:
                raise UsageError(
                    f"{where}: the value expands to more than {MAX_VALUES:,} values",
                    why="YAML aliases repeat a value wherever they appear",
                    hint="write the values out, or pass fewer",
                )
            on_path.discard(id(item))
            done[id(item)] = (height, size)
            continue
        if isinstance(item, int) and not isinstance(item, bool):
            if not _INT_MIN <= item <= _INT_MAX:
                raise UsageError(
                    f"{where}: the number {str(item)[:20]}… is too large",
                    why="numbers are kept as 64-bit integers",
                    hint="pass it as a string if it is an identifier",
                )
            continue
        if isinstance(item, str):
            if not item.isascii() and not _utf8(item):
                raise UsageError(
                    f"{where}: a value is not UTF-8 text ({item[:20]!r})",
                    why="the bytes given cannot be sent in a request",
                    hint="pass the value as UTF-8 text",
                )
            continue
        if not isinstance(item, dict | list):
            continue
        key = id(item)
        if key in on_path:
            raise UsageError(
                f"{where}: a value contains itself (a recursive YAML alias)",
                hint="write the value out instead of referring to an enclosing anchor",
            )
        known = done.get(key)
        if depth >= MAX_DEPTH or (known is not None and depth + known[0] > MAX_DEPTH):
            raise UsageError(
                f"{where}: values are nested more than {MAX_DEPTH} levels deep",
                hint="flatten the value",
            )
        if known is not None:
            continue  # the same object again (an alias): already checked
        on_path.add(key)
        stack.append((item, depth, True))
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1, False) for child in children)


def _utf8(text: str) -> bool:
    """Whether ``text`` is Unicode text (not bytes a command line could not decode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_input_pairs(plan: WorkflowPlan | None, pairs: Iterable[str]) -> dict[str, Any]:
    """``-i name=value`` values, each converted to the type the workflow's inputs schema says."""
    from weft.engine.validation import convert_cli_value

    values: dict[str, Any] = {}
    for item in pairs:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise UsageError(f"-i {item!r} is not name=value", hint="-i prompt='a red fox'")
        value = convert_cli_value(plan, name, text) if plan is not None else text
        check_value(value, f"-i {name}")
        values[name] = value
    return values


def write_json(value: Mapping[str, Any] | list[Any]) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(orjson.dumps(value, default=_json_default).decode() + "\n")
    sys.stdout.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


__all__ = [
    "MAX_INPUTS_BYTES",
    "STORE_HELP",
    "check_value",
    "parse_input_pairs",
    "parse_servers",
    "read_inputs_file",
    "read_values_file",
    "write_json",
]
