"""HAR 1.2 (``--har FILE``): every HTTP exchange of a run, resends included, as browsers'
developer tools and HAR viewers read it.

The exchanges come from the engine's ``exchange`` events (:class:`~weft.reports.collector.
RunCollector` with ``exchanges=True``), already masked with the run's secrets: sensitive
headers (``Authorization``, ``Cookie``, ``Set-Cookie``, ``*-Key``, ``*-Token`` …) whole, and
every known secret in other headers, the URL (decoded query and path too) and the bodies. The
HAR's ``cookies`` and ``queryString`` are read from those masked headers and URL, so they hold
nothing the rest does not. An exchange that got no answer has ``status`` 0 and says why in its
``comment``. Each entry's ``comment`` names the step and attempt; ``pages`` has one page, the
run.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from weft import __version__
from weft.engine.result import Exchange
from weft.reports.collector import ExchangeTrace

TEXT_TYPES = ("json", "text", "xml", "form", "javascript", "yaml", "html")


def _iso(ts: float) -> str:
    millis = round((ts - int(ts)) * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(ts))) + f".{millis:03d}Z"


def _headers(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _header(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in pairs:
        if key.lower() == name:
            return value
    return None


def _request_cookies(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    cookies = []
    for key, value in pairs:
        if key.lower() != "cookie":
            continue
        for part in value.split(";"):
            name, sep, rest = part.strip().partition("=")
            if name and name != "***":  # a masked header: nothing to list
                cookies.append({"name": name, "value": rest if sep else ""})
    return cookies


def _response_cookies(pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    cookies: list[dict[str, Any]] = []
    for key, value in pairs:
        if key.lower() != "set-cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            continue
        for name, morsel in jar.items():
            cookie: dict[str, Any] = {"name": name, "value": morsel.value}
            for attribute, field in (("path", "path"), ("domain", "domain")):
                if morsel[attribute]:
                    cookie[field] = morsel[attribute]
            cookie["httpOnly"] = bool(morsel["httponly"])
            cookie["secure"] = bool(morsel["secure"])
            cookies.append(cookie)
    return cookies


def _is_text(mime: str) -> bool:
    return not mime or any(t in mime.lower() for t in TEXT_TYPES)


def _post_data(exchange: Exchange) -> dict[str, Any] | None:
    body = exchange.request_body
    if body is None:
        return None
    mime = _header(exchange.request_headers, "content-type") or "application/octet-stream"
    data: dict[str, Any] = {"mimeType": mime}
    if "x-www-form-urlencoded" in mime.lower():
        text = body.decode("utf-8", "replace")
        data["params"] = [
            {"name": k, "value": v} for k, v in parse_qsl(text, keep_blank_values=True)
        ]
        data["text"] = text
    elif _is_text(mime):
        data["text"] = body.decode("utf-8", "replace")
    else:
        data["text"] = base64.b64encode(body).decode("ascii")
        data["comment"] = "base64-encoded binary body"
    return data


def _content(exchange: Exchange) -> dict[str, Any]:
    body = exchange.response_body or b""
    mime = _header(exchange.response_headers, "content-type") or "x-unknown"
    content: dict[str, Any] = {"size": len(body), "mimeType": mime}
    if not body:
        return content
    if _is_text(mime):
        try:
            content["text"] = body.decode("utf-8")
            return content
        except UnicodeDecodeError:
            pass
    content["text"] = base64.b64encode(body).decode("ascii")
    content["encoding"] = "base64"
    return content


def _status_text(code: int | None) -> str:
    if code is None:
        return ""
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def har_entry(trace: ExchangeTrace, page: str) -> dict[str, Any]:
    """One HAR entry of an exchange."""
    ex = trace.exchange
    millis = round(ex.elapsed * 1000, 3)
    request: dict[str, Any] = {
        "method": ex.method,
        "url": ex.url,
        "httpVersion": "HTTP/1.1",
        "cookies": _request_cookies(ex.request_headers),
        "headers": _headers(ex.request_headers),
        "queryString": [
            {"name": k, "value": v}
            for k, v in parse_qsl(urlsplit(ex.url).query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": len(ex.request_body) if ex.request_body is not None else 0,
    }
    post = _post_data(ex)
    if post is not None:
        request["postData"] = post
    location = _header(ex.response_headers, "location") or ""
    response: dict[str, Any] = {
        "status": ex.status if ex.status is not None else 0,
        "statusText": _status_text(ex.status),
        "httpVersion": "HTTP/1.1" if ex.status is not None else "",
        "cookies": _response_cookies(ex.response_headers),
        "headers": _headers(ex.response_headers),
        "content": _content(ex),
        "redirectURL": location,
        "headersSize": -1,
        "bodySize": len(ex.response_body) if ex.response_body is not None else -1,
    }
    where = f"step {trace.workflow_id}/{trace.step_id}, attempt {trace.attempt}"
    if ex.status is None:
        why = ex.error or "no answer"
        where += f"; no answer: {why}" + (f" ({ex.detail})" if ex.detail else "")
    return {
        "pageref": page,
        "startedDateTime": _iso(ex.started),
        "time": millis,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {
            "blocked": -1,
            "dns": -1,
            "connect": -1,
            "ssl": -1,
            "send": 0,
            "wait": millis,
            "receive": 0,
        },
        "comment": where,
    }


def har_log(
    exchanges: Sequence[ExchangeTrace],
    *,
    run_id: str,
    workflow_id: str,
    started_at: float | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """The HAR object (``{"log": …}``) of a run's exchanges."""
    first = exchanges[0].exchange.started if exchanges else None
    start = started_at if started_at is not None else (first or time.time())
    page = f"run-{run_id}"
    log: dict[str, Any] = {
        "version": "1.2",
        "creator": {"name": "weft", "version": __version__},
        "pages": [
            {
                "startedDateTime": _iso(start),
                "id": page,
                "title": f"{workflow_id} · run {run_id}",
                "pageTimings": {},
            }
        ],
        "entries": [har_entry(trace, page) for trace in exchanges],
    }
    if comment:
        log["comment"] = comment
    return {"log": log}


def har_bytes(har: Mapping[str, Any]) -> bytes:
    return orjson.dumps(har, option=orjson.OPT_INDENT_2) + b"\n"


__all__ = ["har_bytes", "har_entry", "har_log"]
