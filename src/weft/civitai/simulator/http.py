"""HTTP helpers shared by the simulator's handlers: JSON and problem-details answers, strict
parsing of path and query values (ASCII digits only, int32 ranges, .NET booleans)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import orjson
from aiohttp import web

from weft.civitai.simulator.state import SimulatorState

STATE_KEY = web.AppKey("state", SimulatorState)
EXTERNAL_ID_KEY = web.RequestKey("external_id", str)
WORKFLOW_ID_KEY = web.RequestKey("workflow_id", str)
WHATIF_KEY = web.RequestKey("whatif", bool)
PROBLEM_TYPES = {
    400: ("https://tools.ietf.org/html/rfc9110#section-15.5.1",
          "One or more validation errors occurred."),
    401: ("https://tools.ietf.org/html/rfc9110#section-15.5.2", "Unauthorized"),
    403: ("https://tools.ietf.org/html/rfc9110#section-15.5.4", "Forbidden"),
    404: ("https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not Found"),
    409: ("https://tools.ietf.org/html/rfc9110#section-15.5.10", "Conflict"),
    413: ("https://tools.ietf.org/html/rfc9110#section-15.5.14", "Content Too Large"),
    415: ("https://tools.ietf.org/html/rfc9110#section-15.5.16", "Unsupported Media Type"),
    429: ("https://tools.ietf.org/html/rfc6585#section-4", "Too Many Requests"),
    500: ("https://tools.ietf.org/html/rfc9110#section-15.6.1",
          "An error occurred while processing your request."),
    502: ("https://tools.ietf.org/html/rfc9110#section-15.6.3", "Bad Gateway"),
    503: ("https://tools.ietf.org/html/rfc9110#section-15.6.4", "Service Unavailable"),
    504: ("https://tools.ietf.org/html/rfc9110#section-15.6.5", "Gateway Timeout"),
}  # fmt: skip
_INTEGER = re.compile(r"^\s*[+-]?[0-9]+\s*$")
_DIGITS = re.compile(r"^[0-9]+$")
INT32_MAX = 2**31 - 1


class Abort(Exception):
    """Stops a handler with a prepared response."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def dumps(data: Any) -> bytes:
    """JSON bytes; text echoed from a request that is not valid UTF-8 (a lone surrogate from a
    header decoded with ``surrogateescape``) is replaced rather than failing the answer."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return orjson.dumps(_valid_utf8(data))


def _valid_utf8(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_valid_utf8(k): _valid_utf8(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_valid_utf8(v) for v in value]
    return value


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=dumps(data), status=status, content_type="application/json", headers=headers
    )


def problem(
    status: int,
    detail: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An RFC 7807 answer as ASP.NET writes it (``errors`` for validation problems)."""
    type_, title = PROBLEM_TYPES[status]
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body["traceId"] = "00-" + secrets.token_hex(16) + "-" + secrets.token_hex(8) + "-00"
    return web.Response(
        body=dumps(body), status=status, content_type="application/problem+json",
        headers=headers,
    )  # fmt: skip


def state_of(request: web.Request) -> SimulatorState:
    return request.app[STATE_KEY]


def origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def ascii_id(text: str) -> int | None:
    """A path id of ASCII digits only (``"²".isdigit()`` is True in Python), else None."""
    if not _DIGITS.match(text) or len(text) > 18:
        return None
    return int(text)


def int32_param(text: str) -> int | None:
    """An ``int32`` query value as ASP.NET binds it (optional sign and surrounding blanks,
    ASCII digits), else None."""
    if not _INTEGER.match(text) or len(text.strip()) > 12:
        return None
    value = int(text.strip())
    return value if -INT32_MAX - 1 <= value <= INT32_MAX else None


def bool_param(text: str) -> bool | None:
    """A ``bool`` query value as ASP.NET binds it (``true``/``false``, any case), else None."""
    lowered = text.strip().lower()
    return {"true": True, "false": False}.get(lowered)


def not_valid(name: str, value: str) -> Abort:
    """The 400 ASP.NET answers when a query value does not bind."""
    shown = value if len(value) <= 100 else value[:97] + "..."
    return Abort(problem(400, errors={name: [f"The value '{shown}' is not valid."]}))
