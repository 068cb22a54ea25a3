"""Injected failures (:class:`~weft.civitai.simulator.config.Fault`): which request gets one, and
the answer it gets instead of the real one — a 5xx with JSON, a gateway's HTML 502 page, the
edge's bare 429, a delay, or a connection reset (RST, no answer at all)."""

from __future__ import annotations

import asyncio
import socket
import struct

from aiohttp import web

from weft.civitai.simulator.config import Fault
from weft.civitai.simulator.http import json_response, problem
from weft.civitai.simulator.state import SimulatorState

GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_SERVER_ERRORS = (500, 502, 503, 504)


def endpoint_class(method: str, path: str) -> str:
    """``site``, ``submit``, ``poll`` (GET of workflows), ``blob`` or ``other``."""
    if path.startswith("/api/v1/"):
        return "site"
    if path.startswith("/v2/consumer/blobs/"):
        return "blob"
    if path.rstrip("/") == "/v2/consumer/workflows" and method == "POST":
        return "submit"
    if path.startswith("/v2/consumer/workflows") and method == "GET":
        return "poll"
    return "other"


def pick_fault(state: SimulatorState, endpoint: str) -> Fault | None:
    """The fault this request gets, if any (call once per request, after counting it)."""
    count = state.requests_by_class[endpoint]
    for fault in state.config.faults:
        if endpoint not in fault.endpoints:
            continue
        if count in fault.nth or (fault.rate > 0 and state.fault_rng.random() < fault.rate):
            return fault
    return None


def fault_response(state: SimulatorState, fault: Fault, endpoint: str) -> web.Response | None:
    """The answer that replaces the real one (None for ``reset`` and ``slow``)."""
    kind = fault.kind
    if kind in ("reset", "slow"):
        return None
    if kind == "html":
        return web.Response(status=502, text=GATEWAY_PAGE, content_type="text/html")
    if kind == "429":
        return web.Response(status=429, text="error code: 1015", content_type="text/plain")
    status = state.fault_rng.choice(_SERVER_ERRORS) if kind == "5xx" else int(kind)
    if endpoint == "site":
        return json_response({"error": "Failed to fetch model version details"}, status)
    return problem(status, "An unexpected error occurred; the request may be retried.")


def reset_connection(request: web.Request) -> None:
    """Abort the connection with an RST (SO_LINGER 0): the client sees a reset, not an answer."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def delay(fault: Fault) -> None:
    await asyncio.sleep(fault.delay)
