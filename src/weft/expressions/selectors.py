"""JSONPath (RFC 9535 and the Goessner draft), XPath (1.0–3.1) and JSON Pointer selectors.

Each ``compile_*`` parses once and returns a callable applied to a context value. Compile
errors raise :class:`ExpressionError`; the callables may raise on bad contexts (callers turn
that into a failed criterion or an absent value).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import cache
from typing import Any

import jsonpath_rfc9535

from weft.expressions.context import ABSENT
from weft.expressions.errors import ExpressionError
from weft.expressions.pointer import parse_pointer, resolve_tokens

RFC9535 = "rfc9535"
GOESSNER = "draft-goessner-dispatch-jsonpath-00"
JSONPATH_VERSIONS = (RFC9535, GOESSNER)
XPATH_VERSIONS = ("xpath-31", "xpath-30", "xpath-20", "xpath-10")


# elementpath and python-jsonpath are imported on first use: most documents never need them,
# and importing them costs more than the rest of `weft validate` together.
@cache
def _xpath_parser_class(version: str) -> Any:
    if version == "xpath-31":
        from elementpath.xpath31 import XPath31Parser

        return XPath31Parser
    if version == "xpath-30":
        from elementpath.xpath30 import XPath30Parser

        return XPath30Parser
    if version == "xpath-20":
        from elementpath import XPath2Parser

        return XPath2Parser
    if version == "xpath-10":
        from elementpath import XPath1Parser

        return XPath1Parser
    raise KeyError(version)


@cache
def _goessner_env() -> Any:
    import jsonpath as goessner

    return goessner.JSONPathEnvironment()


def _xpath_context(root: Any) -> Any:
    from elementpath import XPathContext

    return XPathContext(root)


Query = Callable[[Any], list[Any]]


def expression_type(type_: Any) -> tuple[str, str | None]:
    """``(kind, version)`` from a type string, an Expression Type Object or its dict form."""
    if isinstance(type_, str):
        return type_, None
    if isinstance(type_, dict):
        return str(type_.get("type")), (
            None if type_.get("version") is None else str(type_["version"])
        )
    kind = getattr(type_, "type", None)
    if isinstance(kind, str):
        version = getattr(type_, "version", None)
        return kind, None if version is None else str(version)
    raise ExpressionError(f"not an expression type: {type_!r}")


# --- JSONPath ---------------------------------------------------------------------------------


def is_rfc9535_query(text: str) -> bool:
    """True when ``text`` is a well-formed RFC 9535 JSONPath query."""
    try:
        jsonpath_rfc9535.compile(text)
    except Exception:
        return False
    return True


def jsonpath_logical_rewrite(text: str) -> str | None:
    """An RFC 9535 query equivalent to a logical expression over ``$``, or None.

    ``$.status == 'a' || $.status == 'b'`` is not a query, but it is a valid RFC 9535
    logical expression. The result, ``$[?@.status == 'a' || @.status == 'b']``, evaluated
    against the one-element array ``[context]``, selects that element exactly when the logical
    expression is true for ``context``. (A ``$`` nested inside brackets becomes ``$[0]``.)
    Returns None for a text that already is a query, or is not such a logical expression.
    """
    if not isinstance(text, str) or is_rfc9535_query(text):
        return None
    out: list[str] = []
    depth = 0
    dollars = 0
    quote = ""
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "[":
            depth += 1
            out.append(ch)
        elif ch == "]":
            depth -= 1
            out.append(ch)
        elif ch == "$":
            dollars += 1
            out.append("@" if depth == 0 else "$[0]")
        else:
            out.append(ch)
        i += 1
    if not dollars or quote:
        return None
    candidate = "$[?" + "".join(out) + "]"
    return candidate if is_rfc9535_query(candidate) else None


def compile_jsonpath(text: str, version: str | None = None) -> Query:
    """Compile a JSONPath query; the result maps a context to its list of selected values."""
    version = version or RFC9535
    if version == RFC9535:
        try:
            q = jsonpath_rfc9535.compile(text)
        except Exception as exc:
            raise ExpressionError(f"not an RFC 9535 JSONPath query: {exc}", text) from None
        return lambda value: q.find(value).values()
    if version == GOESSNER:
        try:
            g = _goessner_env().compile(text)
        except Exception as exc:
            raise ExpressionError(f"not a JSONPath expression: {exc}", text) from None
        return lambda value: list(g.findall(value))
    raise ExpressionError(
        f"unknown JSONPath version {version!r} (allowed: {', '.join(JSONPATH_VERSIONS)})"
    )


def jsonpath_locations(text: str, value: Any) -> list[tuple[str | int, ...]]:
    """Where the nodes an RFC 9535 query selects in ``value`` are (object member names and
    array indexes from the root), in document order; ``ExpressionError`` for a bad query."""
    try:
        q = jsonpath_rfc9535.compile(text)
    except Exception as exc:
        raise ExpressionError(f"not an RFC 9535 JSONPath query: {exc}", text) from None
    return [tuple(node.location) for node in q.find(value)]


def json_context(value: Any) -> Any:
    """A JSON context: parsed values as they are; JSON text (str/bytes) parsed."""
    if isinstance(value, str | bytes | bytearray):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError("the context is text that is not JSON") from None
    return value


# --- XPath ------------------------------------------------------------------------------------


def xpath_parser(version: str | None) -> Any:
    """The elementpath parser class for an ``xpath-NN`` version (default 3.1)."""
    key = version or "xpath-31"
    if key not in XPATH_VERSIONS:
        allowed = ", ".join(XPATH_VERSIONS)
        raise ExpressionError(f"unknown XPath version {key!r} (allowed: {allowed})")
    return _xpath_parser_class(key)


def parse_xpath(text: str, version: str | None = None) -> Any:
    """Parse an XPath expression once; returns elementpath's root token."""
    parser = xpath_parser(version)()
    try:
        return parser.parse(text)
    except Exception as exc:
        raise ExpressionError(f"not a valid XPath expression: {exc}", text) from None


def xml_context(value: Any) -> Any:
    """An element tree root from XML text (str/bytes) or an already parsed element."""
    if isinstance(value, str | bytes | bytearray):
        try:
            return ET.fromstring(value)
        except ET.ParseError as exc:
            raise ValueError(f"the context is not well-formed XML ({exc})") from None
    if isinstance(value, ET.Element | ET.ElementTree):
        return value
    raise ValueError(f"the context is not XML (it is a {type(value).__name__})")


def xpath_results(token: Any, value: Any) -> list[Any]:
    """Evaluate a parsed XPath on an XML context; element results become their text."""
    root = xml_context(value)
    results = token.get_results(_xpath_context(root))
    if not isinstance(results, list):
        results = [results]
    return ["".join(r.itertext()) if isinstance(r, ET.Element) else r for r in results]


def xpath_boolean(token: Any, value: Any) -> bool:
    """The effective boolean value of a parsed XPath on an XML context."""
    root = xml_context(value)
    result = token.evaluate(_xpath_context(root))
    return bool(token.boolean_value(result))


# --- selectors (Selector Object) --------------------------------------------------------------


def compile_selector(selector: str, type_: Any) -> Callable[[Any], Any]:
    """A Selector Object's selector: context value -> selected value (ABSENT when none).

    One selected node gives its value; several give a list of values.
    """
    kind, version = expression_type(type_)
    if kind == "jsonpointer":
        if version not in (None, "rfc6901"):
            raise ExpressionError(f"unknown JSON Pointer version {version!r} (allowed: rfc6901)")
        names, indexes = parse_pointer(selector)
        return lambda value: resolve_tokens(json_context(value), names, indexes)
    if kind == "jsonpath":
        query = compile_jsonpath(selector, version)

        def run_jsonpath(value: Any) -> Any:
            return _pick(query(json_context(value)))

        return run_jsonpath
    if kind == "xpath":
        token = parse_xpath(selector, version)
        return lambda value: _pick(xpath_results(token, value))
    raise ExpressionError(f"unknown selector type {kind!r} (jsonpath, xpath, jsonpointer)")


def _pick(values: list[Any]) -> Any:
    if not values:
        return ABSENT
    return values[0] if len(values) == 1 else list(values)
