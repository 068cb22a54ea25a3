"""Build the HTTP request of an operation step, and the ``$request`` view of what was sent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from weft.effects import HttpRequest
from weft.engine.plan import IDEMPOTENT_METHODS, StepPlan
from weft.expressions import ExpressionError, join_pointer, jsonpath_locations, set_pointer
from weft.expressions.context import ABSENT, EvalContext
from weft.openapi.bodies import BodyError, encode_body, replace_xpath
from weft.openapi.serialize import (
    expand_parts,
    serialize_content,
    serialize_cookie,
    serialize_header,
    serialize_path,
    serialize_query,
)
from weft.secrets import SecretSet


class RequestBuildError(Exception):
    """The step's request cannot be built (a path parameter without value, a bad payload)."""


@dataclass(slots=True)
class BuiltRequest:
    request: HttpRequest
    headers: dict[str, str]  # lower-cased, for $request.header
    query: dict[str, Any]
    path: dict[str, Any]
    body: Any  # the payload value before encoding (ABSENT when none)
    idempotency_key: str | None = None
    warnings: list[str] = field(default_factory=list)


def server_base(plan: StepPlan, servers: Mapping[str, str], source_urls: Mapping[str, str]) -> str:
    """The server URL of the step's operation: an override by source name, else the first
    server of the description with variable defaults (relative URLs resolve against the
    description's own URL)."""
    op = plan.operation
    assert op is not None
    override = servers.get(op.source)
    if override:
        return override.rstrip("/")
    if op.servers:
        server = op.servers[0]
        url = server.url
        for name, default in (server.variables or {}).items():
            url = url.replace("{" + name + "}", str(default))
    else:
        url = "/"
    if "://" not in url:
        url = urljoin(source_urls.get(op.source, ""), url)
    return url.rstrip("/")


_PRIMITIVES = frozenset({str, int, float, bool, type(None)})


def build_request(
    plan: StepPlan,
    ctx: EvalContext,
    base: str,
    secrets: SecretSet,
    added: set[str] | None = None,
    cache: dict[int, tuple[Any, ...]] | None = None,
) -> BuiltRequest:
    """The request of an operation step.

    ``added``, when given, remembers the header values already given to ``secrets`` (adding one
    again would change nothing). ``cache``, when given, keeps each step's last request: a step
    without a body whose parameters have the same primitive values (same types) as last time
    (a poll) gets the same request again, which nothing changes once built.
    """
    values = [p.value.evaluate(ctx) for p in plan.params]
    key: tuple[Any, ...] | None = None
    if cache is not None and plan.body is None:
        types = tuple(type(v) for v in values)
        if _PRIMITIVES.issuperset(types):
            key = (base, types, *values)
            hit = cache.get(id(plan))
            if hit is not None and hit[0] is plan and hit[1] == key:
                built: BuiltRequest = hit[2]
                return built
    built = _build(plan, ctx, base, secrets, added, values)
    if key is not None and cache is not None:
        cache[id(plan)] = (plan, key, built)
    return built


def _build(
    plan: StepPlan,
    ctx: EvalContext,
    base: str,
    secrets: SecretSet,
    added: set[str] | None,
    values: list[Any],
) -> BuiltRequest:
    op = plan.operation
    assert op is not None
    path_values: dict[str, str] = {}
    path_raw: dict[str, Any] = {}
    query_parts: list[str] = []
    query_raw: dict[str, Any] = {}
    headers: list[tuple[str, str]] = []
    header_view: dict[str, str] = {}
    cookies: list[str] = []
    warnings: list[str] = []
    for p, value in zip(plan.params, values, strict=True):
        if value is ABSENT:
            if p.location == "path":
                raise RequestBuildError(f"path parameter {p.name!r} has no value")
            warnings.append(f"{p.location} parameter {p.name!r} has no value; not sent")
            continue
        loc = p.location
        if p.content_type is not None:
            value = serialize_content(value, p.content_type)
        if loc == "header":
            text = serialize_header(value, p.explode)
            if p.sensitive and (added is None or text not in added):
                secrets.add_header_value(text)
                if added is not None:
                    added.add(text)
            headers.append((p.name, text))
            header_view[p.lower] = text
        elif loc == "path":
            path_raw[p.name] = value
            path_values[p.name] = serialize_path(p.name, value, p.style, p.explode)
        elif loc == "query":
            query_raw[p.name] = value
            query_parts.extend(serialize_query(p.name, value, p.style, p.explode, p.allow_reserved))
        elif loc == "cookie":
            pairs = serialize_cookie(p.name, value, p.explode)
            for pair in pairs:
                secrets.add(pair.split("=", 1)[1])
            cookies.extend(pairs)
        elif loc == "querystring":
            text = value if isinstance(value, str) else serialize_content(value, "application/json")
            query_parts.append(text.lstrip("?"))
    if cookies:
        cookie_header = "; ".join(cookies)
        headers.append(("Cookie", cookie_header))
        header_view["cookie"] = cookie_header
    for var in plan.path_vars:
        if var not in path_values:
            missing = [v for v in plan.path_vars if v not in path_values]
            given = [p.name for p in plan.params if p.location == "path"]
            also = f" (the step's path parameters: {', '.join(given)})" if given else ""
            raise RequestBuildError(
                f"path parameter {', '.join(map(repr, missing))} of {op.path} has no value{also}"
            )
    url = base + expand_parts(plan.path_parts, path_values)
    if query_parts:
        url += ("&" if "?" in url else "?") + "&".join(query_parts)
    body_bytes: bytes | None = None
    payload: Any = ABSENT
    if plan.body is not None:
        payload, body_bytes, content_type = _body(plan, ctx)
        if content_type and "content-type" not in header_view:
            headers.append(("Content-Type", content_type))
            header_view["content-type"] = content_type
    idem = header_view.get("idempotency-key")
    name = plan.idempotency_field
    if idem is None and name is not None and isinstance(payload, Mapping):
        v = payload.get(name)
        idem = str(v) if v not in (None, ABSENT, "") else None
    return BuiltRequest(
        HttpRequest(op.method, url, headers, body_bytes, plan.follow_redirects),
        header_view,
        query_raw,
        path_raw,
        payload,
        idem,
        warnings,
    )


def _body(plan: StepPlan, ctx: EvalContext) -> tuple[Any, bytes | None, str | None]:
    body = plan.body
    assert body is not None
    payload = body.payload.evaluate(ctx) if body.payload is not None else ABSENT
    if body.replacements:
        if payload is ABSENT:
            payload = {}
        for rep in body.replacements:
            value = rep.value.evaluate(ctx)
            if value is ABSENT:
                raise RequestBuildError(f"replacement {rep.target!r} has no value")
            try:
                if rep.selector == "xpath" and isinstance(payload, str):
                    payload = replace_xpath(payload, rep.target, value)
                elif rep.selector == "jsonpath":
                    # every node the query selects is replaced (none selected: nothing changes)
                    for location in jsonpath_locations(rep.target, payload):
                        pointer = join_pointer([str(token) for token in location])
                        payload = set_pointer(payload, pointer, value)
                else:  # a JSON Pointer (set_pointer copies along the path: no deep copy)
                    payload = set_pointer(payload, rep.target.removeprefix("#"), value)
            except (BodyError, ExpressionError) as exc:
                raise RequestBuildError(f"replacement {rep.target!r}: {exc}") from exc
    if payload is ABSENT:
        return ABSENT, None, body.content_type
    try:
        data, content_type = encode_body(_strip_absent(payload), body.content_type)
    except BodyError as exc:
        raise RequestBuildError(str(exc)) from exc
    return payload, data, content_type


def _strip_absent(value: Any) -> Any:
    """Payload members whose expression has no value are left out (not sent as null)."""
    if isinstance(value, dict):
        return {k: _strip_absent(v) for k, v in value.items() if v is not ABSENT}
    if isinstance(value, list):
        return [_strip_absent(v) for v in value if v is not ABSENT]
    return value


def resend_safe(method: str, built: BuiltRequest) -> bool:
    """Safe to send again after an unknown outcome: idempotent method or idempotency key."""
    return method.upper() in IDEMPOTENT_METHODS or built.idempotency_key is not None


def request_summary(built: BuiltRequest, secrets: SecretSet) -> dict[str, Any]:
    """What the recorder sees of a request: method, URL and headers, secrets masked."""
    req = built.request
    summary: dict[str, Any] = {
        "method": req.method,
        "url": secrets.mask_str(req.url),
        "headers": [list(h) for h in secrets.mask_headers(req.headers)],
    }
    if req.body is not None:
        summary["bodyBytes"] = len(req.body)
    if built.idempotency_key is not None:
        summary["idempotencyKey"] = secrets.mask_str(built.idempotency_key)
    return summary


__all__ = [
    "IDEMPOTENT_METHODS",
    "BuiltRequest",
    "RequestBuildError",
    "build_request",
    "request_summary",
    "resend_safe",
    "server_base",
]
