"""Hypothesis strategies for what a server answers and what a user types.

:func:`answers` draws HTTP answers as bytes on the wire (:class:`~tests.fuzz.servers.Answer`):
any status, content types that lie, malformed/truncated/huge/deep JSON, HTML error pages,
XML with entities, binary, the request echoed, huge or odd headers, a wrong or missing
``Content-Length``, a cut-off head, a closed connection. :func:`cli_value` draws ``-i`` values.
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.fuzz.servers import Answer

# -- how many cases: a few thousand in CI, as many as asked for a longer run ---------------------
LONG_RUN = int(os.environ.get("WEFT_FUZZ_EXAMPLES", "0") or 0)


def fuzz_settings(examples: int, *, long_cap: int | None = None) -> settings:
    """``examples`` cases, the same ones every run (CI); ``WEFT_FUZZ_EXAMPLES=N`` runs N
    new ones per test instead, at most ``long_cap`` (a longer, exploring run:
    ``python bench/fuzz_long.py`` sets it and a seed, and prints how to replay a failure)."""
    long = min(LONG_RUN, long_cap) if long_cap is not None else LONG_RUN
    return settings(
        max_examples=max(long, examples) if LONG_RUN else examples,
        deadline=None,
        derandomize=not LONG_RUN,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


# -- answers --------------------------------------------------------------------------------------
STATUSES = [200, 200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405, 409, 410, 422,
            429, 500, 502, 503, 504, 599, 299, 100]  # fmt: skip
CONTENT_TYPES = [
    "application/json", "application/json; charset=utf-8", "application/problem+json",
    "application/json; charset=latin-1", "text/html", "text/plain", "application/xml",
    "text/xml", "image/png", "application/octet-stream", "", "application/x-ndjson",
    "application/json; charset=nonsense", "multipart/form-data; boundary=x", ";;;",
]  # fmt: skip
GATEWAY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>nginx</center></body></html>"
)
XML_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
    )
    + b"]><status>&i;</status>"
)
BODIES: list[bytes] = [
    b"{}", b"[]", b"null", b"0", b'"running"', b'{"status": "running", "id": "t-1"}',
    b'{"status": "succeeded", "id": "t-1", "n": 2}', b'{"id": null, "status": 5}',
    b'{"status": "running"', b'{"a": [1, 2, {"b": ', b"{'single': 'quotes'}", b"NaN",
    b'{"n": 1e400, "m": -0, "big": 123456789012345678901234567890}', b'{"a": "\\ud800"}',
    b'{"title": "Bad", "detail": "worse", "errors": {"x": ["y", 1, null]}}',
    b'{"error": {"message": "nested"}}', b'{"errors": "not a map"}', b'{"errors": [1, 2]}',
    b"[" * 5000 + b"]" * 5000, b'{"a":' * 2000 + b"1" + b"}" * 2000,
    b'{"k": "' + b"x" * 300_000 + b'"}', json.dumps({str(i): i for i in range(5000)}).encode(),
    GATEWAY_PAGE, b"<html><title>" + b"t" * 10_000, b"<!doctype html><p>no title",
    b"<?xml version='1.0'?><status>running</status>", XML_BOMB, b"<a><b></a>",
    b"\x89PNG\r\n\x1a\n\x00\x00garbage", b"\xff\xfe\x00\x00", b"\x00" * 64, "é€😀".encode(),
    "é".encode("latin-1"), b"", b"   ", b"\r\n\r\n",
]  # fmt: skip
HEADERS: list[tuple[str, str]] = [
    ("Retry-After", "0"), ("Retry-After", "1"), ("Retry-After", "-5"), ("Retry-After", "nan"),
    ("Retry-After", "999999999"), ("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"), ("Retry-After", "soon"),
    ("Location", "/elsewhere"), ("Location", "http://127.0.0.1:9/x"), ("Location", "::"),
    ("Set-Cookie", "session=abc; Path=/"), ("Content-Encoding", "gzip"),
    ("Content-Encoding", "br"), ("Transfer-Encoding", "chunked"), ("X-Big", "b" * 9000),
    ("X-Many", "1"), ("Content-Type", "text/html"), ("WWW-Authenticate", 'Bearer error="x"'),
    ("X-Unicode", "é€"), ("Content-Length", "5"), ("Connection", "keep-alive"),
]  # fmt: skip


@st.composite
def answer(draw: st.DrawFn) -> Answer:
    kind = draw(st.sampled_from(["normal"] * 6 + ["raw", "close", "truncate"]))
    if kind == "close":
        return Answer(close_first=True)
    if kind == "raw":
        raw = draw(st.sampled_from([
            b"", b"garbage\r\n\r\n", b"HTTP/1.1 200\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n{}",
            b"HTTP/9.9 200 OK\r\nContent-Length: 2\r\n\r\n{}", b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n{}", b"\x00\x01\x02\x03",
            b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 200 + b"\r\n{}",
        ]))  # fmt: skip
        return Answer(raw=raw)
    status = draw(st.sampled_from(STATUSES))
    headers = [("Content-Type", draw(st.sampled_from(CONTENT_TYPES)))]
    headers += draw(st.lists(st.sampled_from(HEADERS), max_size=3))
    body = draw(st.sampled_from(BODIES))
    length = draw(st.sampled_from(["auto", "auto", "auto", None, 0, 10**6]))
    echo = draw(st.sampled_from([None, None, "json", "raw", "header"]))
    truncate = draw(st.integers(0, 400)) if kind == "truncate" else None
    return Answer(status=status, reason=draw(st.sampled_from(["OK", "", "é", "Nope"])),
                  headers=tuple(headers), body=body, length=length, echo=echo,
                  truncate=truncate)  # fmt: skip


def answers() -> st.SearchStrategy[list[Answer]]:
    """The first few answers of a run (the rest get a plain ``200 {}``)."""
    return st.lists(answer(), min_size=1, max_size=5)


# -- what a user types ----------------------------------------------------------------------------
CLI_TEXT = [
    "", "x", "0", "-1", "1.5", "1e308", "1e400", "nan", "-inf", "true", "null", "[]", "{}",
    "[1, 2", '{"a": 1}', '{"a": {"b": [1, {"c": null}]}}', "123456789012345678901234567890",
    "-123456789012345678901234567890", "0x10", " 7 ", "é€😀", "\u202e\u0000", "a=b=c", "$inputs.x",
    "{$inputs.x}", "[" * 500, '"quoted"', "a,b,c", "a" * 100_000, "\n\t\r",
]  # fmt: skip


def cli_value() -> st.SearchStrategy[str]:
    return st.sampled_from(CLI_TEXT) | st.text(max_size=30)
