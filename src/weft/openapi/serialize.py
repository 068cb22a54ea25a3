"""Parameter serialization per OpenAPI ``style`` / ``explode`` (RFC 6570 flavoured).

Every function returns text that is already percent-encoded for its place in the request:
path segments, query pairs, header values and cookie pairs. Primitives, arrays and objects are
supported for every style OpenAPI defines: ``simple``, ``label``, ``matrix`` (path), ``form``,
``spaceDelimited``, ``pipeDelimited``, ``deepObject`` (query) and ``form`` (cookie).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

DEFAULT_STYLE = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}

_UNRESERVED_SAFE = "-._~"
_RESERVED_SAFE = "-._~:/?#[]@!$&'()*+,;="


def default_style(location: str) -> str:
    return DEFAULT_STYLE.get(location, "simple")


def default_explode(style: str) -> bool:
    return style == "form"


def to_text(value: Any) -> str:
    """A primitive as text: JSON spelling for booleans and null, JSON for nested structures."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return (
            repr(value)
            if isinstance(value, float) and not value.is_integer()
            else str(int(value) if isinstance(value, float) else value)
        )
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return orjson.dumps(value).decode()


_PCT_CACHE: dict[Any, str] = {}  # str/int -> pct(value): loops send the same values again
_PCT_CACHE_MAX = 2048


def pct(value: Any, *, allow_reserved: bool = False) -> str:
    if allow_reserved:
        return quote(to_text(value), safe=_RESERVED_SAFE)
    kind = type(value)
    if kind is str or kind is int:
        hit = _PCT_CACHE.get(value)
        if hit is None:
            if len(_PCT_CACHE) >= _PCT_CACHE_MAX:
                _PCT_CACHE.clear()
            hit = _PCT_CACHE[value] = quote(to_text(value), safe=_UNRESERVED_SAFE)
        return hit
    return quote(to_text(value), safe=_UNRESERVED_SAFE)


def _items(value: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in value.items() if v is not None]


def serialize_path(name: str, value: Any, style: str = "simple", explode: bool = False) -> str:
    """The text that replaces ``{name}`` in a path template (percent-encoded)."""
    if style == "label":
        prefix, sep = ".", "." if explode else ","
        if isinstance(value, Mapping):
            parts = (
                [f"{pct(k)}={pct(v)}" for k, v in _items(value)]
                if explode
                else [x for k, v in _items(value) for x in (pct(k), pct(v))]
            )
            return prefix + sep.join(parts)
        if isinstance(value, list):
            return prefix + sep.join(pct(v) for v in value)
        return prefix + pct(value)
    if style == "matrix":
        if isinstance(value, Mapping):
            if explode:
                return "".join(f";{pct(k)}={pct(v)}" for k, v in _items(value))
            flat = ",".join(x for k, v in _items(value) for x in (pct(k), pct(v)))
            return f";{pct(name)}={flat}"
        if isinstance(value, list):
            if explode:
                return "".join(f";{pct(name)}={pct(v)}" for v in value)
            return f";{pct(name)}=" + ",".join(pct(v) for v in value)
        text = to_text(value)
        return f";{pct(name)}" + (f"={pct(text)}" if text else "")
    # simple
    kind = type(value)
    if kind is str or kind is int:  # the common case first (neither mapping nor list)
        return pct(value)
    if isinstance(value, Mapping):
        if explode:
            return ",".join(f"{pct(k)}={pct(v)}" for k, v in _items(value))
        return ",".join(x for k, v in _items(value) for x in (pct(k), pct(v)))
    if isinstance(value, list):
        return ",".join(pct(v) for v in value)
    return pct(value)


def serialize_query(
    name: str,
    value: Any,
    style: str = "form",
    explode: bool | None = None,
    allow_reserved: bool = False,
) -> list[str]:
    """``key=value`` pairs (percent-encoded) for one query parameter."""
    if explode is None:
        explode = default_explode(style)

    def enc(v: Any) -> str:
        return pct(v, allow_reserved=allow_reserved)

    key = pct(name)
    if style == "deepObject":
        if isinstance(value, Mapping):
            pairs: list[str] = []
            for k, v in _items(value):
                if isinstance(v, list):
                    pairs.extend(f"{key}[{pct(k)}][]={enc(x)}" for x in v)
                elif isinstance(v, Mapping):
                    pairs.extend(f"{key}[{pct(k)}][{pct(k2)}]={enc(v2)}" for k2, v2 in _items(v))
                else:
                    pairs.append(f"{key}[{pct(k)}]={enc(v)}")
            return pairs
        return [f"{key}={enc(value)}"]
    if style in ("spaceDelimited", "pipeDelimited"):
        sep = "%20" if style == "spaceDelimited" else "|"
        if isinstance(value, list):
            if explode:
                return [f"{key}={enc(v)}" for v in value]
            return [f"{key}=" + sep.join(enc(v) for v in value)]
        if isinstance(value, Mapping):
            if explode:
                return [f"{pct(k)}={enc(v)}" for k, v in _items(value)]
            return [f"{key}=" + sep.join(x for k, v in _items(value) for x in (pct(k), enc(v)))]
        return [f"{key}={enc(value)}"]
    # form
    if isinstance(value, list):
        if explode:
            return [f"{key}={enc(v)}" for v in value]
        return [f"{key}=" + ",".join(enc(v) for v in value)]
    if isinstance(value, Mapping):
        if explode:
            return [f"{pct(k)}={enc(v)}" for k, v in _items(value)]
        return [f"{key}=" + ",".join(x for k, v in _items(value) for x in (pct(k), enc(v)))]
    return [f"{key}={enc(value)}"]


def serialize_header(value: Any, explode: bool = False) -> str:
    """A header value (style ``simple``); not percent-encoded, control characters removed."""
    if type(value) is str:  # the common case first (a str is neither mapping nor list)
        text = value
    elif isinstance(value, Mapping):
        if explode:
            text = ",".join(f"{k}={to_text(v)}" for k, v in _items(value))
        else:
            text = ",".join(x for k, v in _items(value) for x in (k, to_text(v)))
    elif isinstance(value, list):
        text = ",".join(to_text(v) for v in value)
    else:
        text = to_text(value)
    return text.replace("\r", " ").replace("\n", " ")


def serialize_cookie(name: str, value: Any, explode: bool = True) -> list[str]:
    """``name=value`` cookie pairs (style ``form``); values percent-encoded."""
    if isinstance(value, list):
        if explode:
            return [f"{name}={pct(v)}" for v in value]
        return [f"{name}=" + ",".join(pct(v) for v in value)]
    if isinstance(value, Mapping):
        if explode:
            return [f"{k}={pct(v)}" for k, v in _items(value)]
        return [f"{name}=" + ",".join(x for k, v in _items(value) for x in (k, pct(v)))]
    return [f"{name}={pct(value)}"]


def serialize_content(value: Any, media_type: str) -> str:
    """A parameter declared with ``content`` (not ``schema``): JSON for JSON media types."""
    if "json" in media_type.lower() and not isinstance(value, str):
        return orjson.dumps(value).decode()
    return to_text(value)


def path_variables(template: str) -> list[str]:
    """The ``{name}`` variables of a path template, in order."""
    return re.findall(r"\{([^{}]+)\}", template)


def compile_path(template: str) -> tuple[str, ...]:
    """A path template split for :func:`expand_parts`: literal text at even positions, the
    ``{name}`` variable names at odd ones (an unterminated ``{`` stays literal)."""
    out: list[str] = []
    literal = ""
    i = 0
    while i < len(template):
        start = template.find("{", i)
        if start < 0:
            literal += template[i:]
            break
        end = template.find("}", start)
        if end < 0:
            literal += template[i:]
            break
        out.append(literal + template[i:start])
        out.append(template[start + 1 : end])
        literal = ""
        i = end + 1
    out.append(literal)
    return tuple(out)


def expand_parts(parts: tuple[str, ...], values: Mapping[str, str]) -> str:
    """:func:`expand_path` on a template compiled by :func:`compile_path`."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 3:  # one variable: the common case
        name = parts[1]
        value = values.get(name)
        return parts[0] + ("{" + name + "}" if value is None else value) + parts[2]
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        name = parts[i]
        value = values.get(name)
        out.append("{" + name + "}" if value is None else value)
        out.append(parts[i + 1])
    return "".join(out)


def expand_path(template: str, values: Mapping[str, str]) -> str:
    """Replace ``{name}`` in a path template with already-serialized values."""
    if "{" not in template:
        return template
    return expand_parts(compile_path(template), values)


__all__ = [
    "compile_path",
    "default_explode",
    "default_style",
    "expand_parts",
    "expand_path",
    "path_variables",
    "pct",
    "serialize_content",
    "serialize_cookie",
    "serialize_header",
    "serialize_path",
    "serialize_query",
    "to_text",
]
