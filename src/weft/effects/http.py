"""HTTP as the engine sees it: one request, one response, and the :class:`Transport` that sends
it. A transport raises :class:`TransportError` (with a :class:`TransportErrorKind`) when no HTTP
response was obtained."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


@dataclass(slots=True)
class HttpRequest:
    method: str
    url: str  # fully expanded: server + path + query string
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    follow_redirects: bool = True  # False: a 3xx is the response (the operation declares one)


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # keys lower-cased; repeated headers joined with ", "
    body: bytes
    url: str  # final URL after redirects
    elapsed: float = 0.0  # seconds


class TransportErrorKind(StrEnum):
    """Why no HTTP response was obtained."""

    CONNECT = "connect"  # refused, unreachable, DNS: the request never reached a server
    TIMEOUT = "timeout"  # connect, read or total time limit
    RESET = "reset"  # the connection closed or reset before a whole response arrived
    TLS = "tls"  # certificate or handshake failure
    TOO_LARGE = "too_large"  # the response body exceeds the size cap
    REDIRECTS = "redirects"  # too many redirects
    INVALID_REQUEST = "invalid_request"  # the request could not be sent as built (bad URL...)
    OTHER = "other"


class TransportError(Exception):
    """A request that produced no HTTP response. ``kind`` says why (a
    :class:`TransportErrorKind`); ``detail`` is the underlying library's words."""

    def __init__(self, kind: TransportErrorKind | str, detail: str) -> None:
        self.kind = TransportErrorKind(kind)
        self.detail = detail
        super().__init__(detail)

    @property
    def reason(self) -> str:
        return self.detail


class Transport(Protocol):
    async def send(self, request: HttpRequest) -> HttpResponse:
        """Send one request; raise :class:`TransportError` when no response was obtained."""
        ...


__all__ = ["HttpRequest", "HttpResponse", "Transport", "TransportError", "TransportErrorKind"]
