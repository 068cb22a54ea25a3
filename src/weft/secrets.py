"""Secrets: which values must never reach logs, events, results or the run store.

A value is secret when it is a workflow input declared ``format: password``, when it is sent in
a sensitive header (``Authorization``, ``Cookie``, ``*-Key``, ``*-Token``, ...), or when it is an
input referenced by such a header. :class:`SecretSet` collects those values as a run goes and
masks them wherever they appear.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import orjson

MASK = "***"
PLACEHOLDER_KEY = "$weftSecret"

_SENSITIVE_EXACT = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)
_SENSITIVE_SUFFIXES = ("-key", "-token", "-secret", "_key", "_token", "-password")
_SCHEMES = re.compile(r"^(bearer|basic|token|digest|apikey)\s+", re.IGNORECASE)
_INPUT_REF = re.compile(r"\$inputs\.([A-Za-z0-9_\-]+)")

# shortest value worth masking inside longer strings (avoid masking "1" everywhere)
_MIN_EMBEDDED = 6


_NOT_SENSITIVE = frozenset({"idempotency-key"})  # ends in -Key but identifies a request


def is_sensitive_header(name: str) -> bool:
    lowered = name.lower()
    if lowered in _NOT_SENSITIVE:
        return False
    return lowered in _SENSITIVE_EXACT or lowered.endswith(_SENSITIVE_SUFFIXES)


def inputs_referenced(value: Any) -> set[str]:
    """Names of ``$inputs.<name>`` referenced anywhere in a (YAML) value."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(_INPUT_REF.findall(value))
    elif isinstance(value, Mapping):
        for v in value.values():
            found |= inputs_referenced(v)
    elif isinstance(value, list):
        for v in value:
            found |= inputs_referenced(v)
    return found


def password_inputs(schema: Any) -> set[str]:
    """Top-level input names whose schema says ``format: password`` (or ``writeOnly``)."""
    names: set[str] = set()
    if isinstance(schema, Mapping):
        props = schema.get("properties")
        if isinstance(props, Mapping):
            for name, sub in props.items():
                if isinstance(sub, Mapping) and (
                    sub.get("format") == "password" or sub.get("writeOnly") is True
                ):
                    names.add(str(name))
    return names


class SecretSet:
    """The secret values of one run, and masking helpers.

    Every value added is masked in each spelling it can travel in (see :func:`spellings`):
    as written, percent-encoded (``quote``/``quote_plus``, upper- or lower-case hex),
    base64 (of the bare value at any alignment, so also inside ``Basic base64(user:password)``;
    standard and URL-safe alphabets), and JSON-escaped (orjson's, Python's ``ensure_ascii``,
    ``\\/``, Go's HTML-safe ``\\u003c``; and Python's ``repr``). A ``Basic`` credential's
    decoded ``user:password`` and password are secrets too.
    """

    __slots__ = ("_exact", "_forms", "_needles", "_probes", "_values")

    def __init__(self, values: Iterable[object] = ()) -> None:
        self._values: set[str] = set()  # the values added (``is_secret``, ``version``)
        self._exact: set[str] = set()  # every spelling: a whole string equal to one is masked
        # spellings masked inside text (each value's longest first), in a dict for its order
        self._forms: dict[str, None] = {}
        self._probes: dict[str, None] = {}  # the forms holding no other: one is in every form
        # what the JSON text of a value holds wherever ``mask`` would change it (_maybe_inside)
        self._needles: dict[str, None] = {}
        for v in values:
            self.add(v)

    def __bool__(self) -> bool:
        return bool(self._values)

    @property
    def version(self) -> int:
        """Grows whenever a secret is added (secrets are never removed): a masked copy made at
        one version is still right while the version stays the same."""
        return len(self._values)

    def add(self, value: Any) -> None:
        if not isinstance(value, str) or not value:
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.add(str(value))
            return
        if value in self._values:
            return
        self._values.add(value)
        stripped = _SCHEMES.sub("", value)
        if stripped:
            self._values.add(stripped)  # the credential of ``Bearer <credential>``
        exact, embedded, probes, needles = spellings(value)
        self._exact |= exact
        self._forms.update(dict.fromkeys(embedded))
        self._probes.update(dict.fromkeys(probes))
        self._needles.update(dict.fromkeys(needles))

    def add_header_value(self, value: str) -> None:
        self.add(value)

    def is_secret(self, value: Any) -> bool:
        """Whether ``value`` is one of the values added (as given, not another spelling)."""
        return isinstance(value, str) and value in self._values

    def mask_str(self, text: str) -> str:
        if text in self._exact:
            return MASK
        for probe in self._probes:
            if probe in text:
                break
        else:
            return text  # no form can be inside: each holds a probe
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def mask(self, value: Any) -> Any:
        """A copy of ``value`` with every secret (in any spelling, in keys too) replaced by
        ``***``; ``value`` itself when nothing in it is secret."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.mask_str(value)
        if not self._maybe_inside(value):
            return value  # as when there are no secrets: nothing to replace, nothing copied
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.mask_str(value)
        if isinstance(value, Mapping):
            return {
                (self.mask_str(k) if isinstance(k, str) else k): self._walk(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._walk(v) for v in value]
        if isinstance(value, bytes | bytearray | memoryview):
            # a body that is not JSON: sinks write it as text, so it is masked as text
            text = bytes(value).decode("utf-8", "replace")
            masked = self.mask_str(text)
            return value if masked == text else masked
        return value

    def _maybe_inside(self, value: Any) -> bool:
        """Whether a secret may occur in ``value`` (a container): one look at its JSON text
        instead of a walk. JSON escapes a string character by character, so a spelling inside
        a string leaves its escaped form inside the text, and a whole string equal to one
        leaves it quoted: ``False`` only when no needle occurs."""
        try:
            text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):
            return True  # not JSON (bytes, objects): walk it
        return any(needle in text for needle in self._needles)

    def mask_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, MASK if is_sensitive_header(k) else self.mask_str(v)) for k, v in headers]


# -- the spellings a secret travels in ------------------------------------------------------------
_MAX_DERIVED = 4096  # a longer value is masked as written only
_URL_SAFE_SETS = ("", "/", "-._~:/?#[]@!$&'()*+,;=")  # quote(): nothing, its default, allowReserved
_PCT = re.compile(r"%[0-9A-F]{2}")
_GO_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def _percent(text: str) -> set[str]:
    """``text`` percent-encoded the ways URLs and forms carry it (both hex cases)."""
    data = _utf8(text)
    out = {quote(data, safe=safe) for safe in _URL_SAFE_SETS}
    out |= {quote_plus(data, safe=safe) for safe in ("", "/")}
    return out | {_PCT.sub(lambda m: m.group().lower(), f) for f in out}


def _utf8(text: str) -> bytes:
    """The bytes ``text`` stands for (a command-line argument's undecodable bytes come back as
    they were given; any other lone surrogate as UTF-8 would spell it)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _escaped(text: str) -> set[str]:
    """``text`` inside a JSON string, as common encoders write it, and inside a Python
    ``repr`` (a server that echoes a dict of the request's headers)."""
    out = {json.dumps(text, ensure_ascii=True)[1:-1], repr(text)[1:-1]}
    with contextlib.suppress(orjson.JSONEncodeError):
        out.add(orjson.dumps(text).decode()[1:-1])
    for form in list(out):
        if "/" in form:
            out.add(form.replace("/", "\\/"))
        if any(c in form for c in _GO_HTML):
            out.add("".join(_GO_HTML.get(c, c) for c in form))
    return out


def _base64(data: bytes) -> set[str]:
    """Base64 of ``data`` on its own (padded or not), and the run of characters that spells it
    wherever it sits inside a longer base64 text (at each of the three byte alignments: the
    ``password`` of ``Basic base64(user:password)``). Standard and URL-safe alphabets."""
    whole = base64.b64encode(data).decode()
    out = {whole, whole.rstrip("=")}
    n = len(data)
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + data + b"\0\0").decode()
        # character c holds bits 6c..6c+5: bytes 6c//8 .. (6c+5)//8 must all be the secret's
        first = -(-8 * k // 6)
        last = (8 * (k + n) - 6) // 6
        if last >= first:
            out.add(encoded[first : last + 1])
    return out | {f.translate(_URLSAFE) for f in out}


_URLSAFE = str.maketrans("+/", "-_")


@functools.lru_cache(maxsize=512)
def spellings(
    value: str,
) -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Every spelling of a secret: the whole strings masked when a string equals one, the
    spellings masked inside longer text (longest first), the shortest of those (every one
    holds one of them: a quick test), and the needles of :meth:`SecretSet._maybe_inside`.
    A value shorter than 6 characters, and every spelling derived from it, is masked only
    whole (so ``"1"`` does not vanish from every text)."""
    values = {value}
    stripped = _SCHEMES.sub("", value)
    if stripped and stripped != value:
        values.add(stripped)
        if value[:5].lower() == "basic":
            values |= _basic_parts(stripped)
    exact: set[str] = set()
    embedded: set[str] = set()
    for v in values:
        forms = {v}
        if len(v) <= _MAX_DERIVED:
            forms |= _percent(v) | _escaped(v)
            for b64 in _base64(_utf8(v)):
                forms |= {b64} | _percent(b64) | _escaped(b64)
        exact |= forms
        if len(v) >= _MIN_EMBEDDED:
            embedded |= {f for f in forms if len(f) >= _MIN_EMBEDDED}
    ordered = tuple(sorted(embedded, key=lambda f: (-len(f), f)))
    return frozenset(exact), ordered, _shortest(embedded), _needles(exact, embedded)


def _basic_parts(credential: str) -> set[str]:
    """A ``Basic`` credential's ``user:password`` and ``password`` (nothing when it does not
    decode)."""
    try:
        decoded = base64.b64decode(credential.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return set()
    _, colon, password = decoded.partition(":")
    return {decoded, password} - {""} if colon else {decoded}


def _needles(exact: set[str], embedded: Iterable[str]) -> tuple[str, ...]:
    """What the JSON text of a value holds wherever masking changes it: a spelling inside a
    string (JSON-escaped: escaping is character by character, so a part's escape is part of the
    whole's), or a whole string equal to one (quoted). A spelling holding another is left out
    (the shorter one is found wherever the longer one is)."""
    found = {_escape(f) for f in embedded}
    found |= {f'"{_escape(f)}"' for f in exact}
    return _shortest(found)


def _shortest(texts: Iterable[str]) -> tuple[str, ...]:
    """``texts`` without those that hold another of them."""
    kept: list[str] = []
    for text in sorted(texts, key=lambda t: (len(t), t)):
        if not any(k in text for k in kept):
            kept.append(text)
    return tuple(kept)


def _escape(text: str) -> str:
    try:
        return orjson.dumps(text).decode()[1:-1]
    except orjson.JSONEncodeError:  # a lone surrogate: orjson refuses the text (no match)
        return text


# a JSON string literal with at least one escape; a run of URL text holding %XX or "+"
_JSON_ESCAPED_STRING = re.compile(r'"[^"\\\n]*\\.(?:[^"\\\n]|\\.)*"')
_URL_TEXT = r"[^\s&=?#\"'<>,;()\[\]{}]*"
_ENCODED_RUN = re.compile(_URL_TEXT + r"(?:%[0-9A-Fa-f]{2}|\+)" + _URL_TEXT)
_MAX_DEPTH = 4  # encodings inside encodings looked through (JSON in JSON in a query ...)


def mask_text(secrets: SecretSet, text: str, depth: int = 0) -> str:
    """``text`` with every secret masked, also where it is written encoded: inside JSON string
    literals with escapes (``\\"``, ``\\u00f6`` ...) and in percent-encoded (or ``+``-spaced)
    URL and form components, each looked through recursively (JSON text inside a JSON string,
    a URL inside JSON ...); a text that holds a secret only once decoded whole (partly
    percent-decoded, HTML entities) is given decoded, with the secret masked."""
    text = secrets.mask_str(text)
    if not secrets or depth >= _MAX_DEPTH:
        return text

    def literal(match: re.Match[str]) -> str:
        import orjson

        try:
            value = orjson.loads(match.group(0))
        except orjson.JSONDecodeError:
            return match.group(0)
        if not isinstance(value, str):
            return match.group(0)
        masked = mask_text(secrets, value, depth + 1)
        return match.group(0) if masked == value else orjson.dumps(masked).decode()

    def component(match: re.Match[str]) -> str:
        run = match.group(0)
        for decoded in {unquote(run), unquote_plus(run)}:
            if decoded == run:
                continue
            masked = mask_text(secrets, decoded, depth + 1)
            if masked != decoded:
                return quote(masked, safe="/*:@!$'()*+,;~-._")
        return run

    if "\\" in text:
        text = _JSON_ESCAPED_STRING.sub(literal, text)
    if "%" in text or "+" in text:
        text = _ENCODED_RUN.sub(component, text)
    # a secret still there under an encoding of the whole text (partly decoded, entities):
    # the text is given decoded, masked
    for decode in (unquote, unquote_plus, html.unescape):
        decoded = decode(text)
        if decoded != text and secrets.mask_str(decoded) != decoded:
            return mask_text(secrets, decoded, depth + 1)
    return text


def mask_body(secrets: SecretSet, body: bytes | None) -> bytes | None:
    """``body`` with every secret masked as :func:`mask_text` does (bytes that are not UTF-8
    are kept as they are)."""
    if not body or not secrets:
        return body
    text = body.decode("utf-8", "surrogateescape")
    masked = mask_text(secrets, text)
    return body if masked == text else masked.encode("utf-8", "surrogateescape")


def placeholder(name: str) -> dict[str, str]:
    """What a snapshot stores instead of a secret value; resume refills it by ``name``."""
    return {PLACEHOLDER_KEY: name}


def is_placeholder(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and PLACEHOLDER_KEY in value


__all__ = [
    "MASK",
    "SecretSet",
    "inputs_referenced",
    "is_placeholder",
    "is_sensitive_header",
    "mask_body",
    "mask_text",
    "password_inputs",
    "placeholder",
]
