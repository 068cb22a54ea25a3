"""Request bodies by content type, payload replacements, and response parsing.

Encoding: JSON (orjson), ``application/x-www-form-urlencoded``, ``multipart/form-data``,
XML and text (strings sent as written), raw bytes. Replacements target a JSON Pointer in
structured payloads and an XPath in XML payloads.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from weft.expressions.context import ABSENT
from weft.openapi.serialize import to_text


class BodyError(ValueError):
    """A payload that cannot be encoded or a replacement that cannot be applied."""


_MEDIA_TYPES: dict[str, str] = {}  # content type -> media type (responses repeat a few)


def media_type(content_type: str | None) -> str:
    if not content_type:
        return ""
    mt = _MEDIA_TYPES.get(content_type)
    if mt is None:
        if len(_MEDIA_TYPES) >= 256:
            _MEDIA_TYPES.clear()
        mt = _MEDIA_TYPES[content_type] = content_type.split(";", 1)[0].strip().lower()
    return mt


def is_json(mt: str) -> bool:
    return mt == "application/json" or mt.endswith("+json") or mt.endswith("/json")


def is_xml(mt: str) -> bool:
    return mt.endswith("/xml") or mt.endswith("+xml")


def is_text(mt: str) -> bool:
    return mt.startswith("text/")


def _form_value(value: Any) -> str:
    if isinstance(value, Mapping | list):
        return orjson.dumps(value).decode()
    return to_text(value)


def encode_body(payload: Any, content_type: str | None) -> tuple[bytes, str | None]:
    """``(bytes, Content-Type header)`` for a payload; the header is None to send none."""
    mt = media_type(content_type)
    if isinstance(payload, bytes | bytearray):
        return bytes(payload), content_type or "application/octet-stream"
    if mt == "application/x-www-form-urlencoded":
        if isinstance(payload, Mapping):
            pairs: list[str] = []
            for k, v in payload.items():
                if v is None or v is ABSENT:
                    continue
                values = v if isinstance(v, list) else [v]
                pairs.extend(
                    f"{quote(str(k), safe='')}={quote(_form_value(x), safe='')}" for x in values
                )
            return "&".join(pairs).encode(), content_type
        return to_text(payload).encode(), content_type
    if mt == "multipart/form-data":
        return _multipart(payload, content_type)
    if isinstance(payload, str):
        return payload.encode(), content_type or "text/plain; charset=utf-8"
    if not mt or is_json(mt):
        try:
            data = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
        except TypeError as exc:
            raise BodyError(f"payload cannot be encoded as JSON: {exc}") from exc
        # a copy of its own size: orjson's buffer is rounded up (4 KB at least), and a body
        # lives as long as its request (a poll's is reused for the whole run)
        return memoryview(data).tobytes(), content_type or "application/json"
    if is_xml(mt) or is_text(mt):
        return to_text(payload).encode(), content_type
    return to_text(payload).encode(), content_type


def _multipart(payload: Any, content_type: str | None) -> tuple[bytes, str]:
    boundary = "weft-" + uuid.uuid4().hex
    if not isinstance(payload, Mapping):
        raise BodyError("a multipart/form-data payload must be an object of parts")
    out = bytearray()
    for name, value in payload.items():
        if value is None or value is ABSENT:
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            out += f"--{boundary}\r\n".encode()
            disp = f'Content-Disposition: form-data; name="{name}"'
            if isinstance(v, bytes | bytearray):
                head = f'{disp}; filename="{name}"\r\nContent-Type: application/octet-stream'
                out += f"{head}\r\n\r\n".encode()
                out += bytes(v)
            elif isinstance(v, Mapping | list):
                out += f"{disp}\r\nContent-Type: application/json\r\n\r\n".encode()
                out += orjson.dumps(v)
            else:
                out += f"{disp}\r\n\r\n".encode() + to_text(v).encode()
            out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------------------------------------
# replacements


def replace_xpath(xml_text: str, xpath: str, value: Any) -> str:
    """Set the text of every element (or attribute) selected by ``xpath`` in an XML string."""
    import xml.etree.ElementTree as ET

    import elementpath

    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise BodyError(f"XML payload does not parse: {exc}") from exc
    attr: str | None = None
    path = xpath
    head, sep, tail = xpath.rpartition("/@")
    if sep and tail and "/" not in tail and "[" not in tail:
        path, attr = head or ".", tail
    try:
        selected = elementpath.select(root, path)
    except Exception as exc:
        raise BodyError(f"XPath {xpath!r}: {exc}") from exc
    if not isinstance(selected, list):
        selected = [selected]
    text = to_text(value)
    hits = 0
    for node in selected:
        if isinstance(node, ET.Element):
            if attr is not None:
                node.set(attr, text)
            else:
                node.text = text
            hits += 1
    if not hits:
        raise BodyError(f"XPath {xpath!r} selects no element in the payload")
    return ET.tostring(root, encoding="unicode")


# ---------------------------------------------------------------------------------------------
# responses


def parse_body(body: bytes, content_type: str | None) -> Any:
    """The value ``$response.body`` refers to: JSON values, XML/text as ``str``, else bytes.

    An empty body is ``ABSENT``. A JSON media type whose body does not parse falls back to text.
    """
    if not body:
        return ABSENT
    mt = media_type(content_type)
    if is_json(mt) or not mt:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    if is_json(mt) or is_xml(mt) or is_text(mt) or not mt or "javascript" in mt:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return body.decode("latin-1") if is_text(mt) or is_xml(mt) else body
    return body


__all__ = [
    "BodyError",
    "encode_body",
    "is_json",
    "is_xml",
    "media_type",
    "parse_body",
    "replace_xpath",
]
