"""The production :class:`~weft.effects.http.Transport`: one pooled aiohttp session.

Connect and read timeouts, redirects (bounded), and a response size cap. Anything that yields no
HTTP response raises :class:`~weft.effects.http.TransportError` with a readable reason, which
the engine turns into a step failure.
"""

from __future__ import annotations

from time import perf_counter
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from weft.effects.http import HttpRequest, HttpResponse, TransportError
from weft.effects.http import TransportErrorKind as K

DEFAULT_MAX_BODY = 64 * 1024 * 1024


class AiohttpTransport:
    """Sends requests over one shared ``aiohttp.ClientSession`` (created lazily).

    Use as an async context manager, or call :meth:`close` when done.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_redirects: int = 10,
        max_body: int = DEFAULT_MAX_BODY,
        limit: int = 100,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_redirects = max_redirects
        self._max_body = max_body
        self._limit = limit
        self._session = session
        self._owns_session = session is None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, ttl_dns_cache=300)
            timeout = aiohttp.ClientTimeout(
                total=None, connect=self._connect_timeout, sock_read=self._read_timeout
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                auto_decompress=True,
                skip_auto_headers=("Content-Type",),
            )
            self._owns_session = True
        return self._session

    async def send(self, request: HttpRequest) -> HttpResponse:
        session = self._session
        if session is None or session.closed:
            session = self._get_session()
        started = perf_counter()
        try:
            url = URL(request.url, encoded=True)
        except (ValueError, TypeError) as exc:
            raise TransportError(K.INVALID_REQUEST, f"invalid URL {request.url!r}: {exc}") from exc
        headers: Any = request.headers
        max_body = self._max_body
        try:
            async with session.request(
                request.method,
                url,
                headers=headers,
                data=request.body,
                allow_redirects=request.follow_redirects,
                max_redirects=self._max_redirects,
            ) as resp:
                declared = resp.content_length
                if declared is not None:
                    if declared > max_body:
                        raise TransportError(
                            K.TOO_LARGE, f"response too large: {declared} bytes (cap {max_body})"
                        )
                    body = await resp.read()  # framed by Content-Length: at most the cap
                else:
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in resp.content.iter_any():
                        size += len(chunk)
                        if size > max_body:
                            raise TransportError(
                                K.TOO_LARGE, f"response larger than the cap of {max_body} bytes"
                            )
                        chunks.append(chunk)
                    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                hdrs: dict[str, str] = {}
                for k, v in resp.headers.items():
                    key = k.lower()
                    if key in hdrs:
                        hdrs[key] = f"{hdrs[key]}, {v}"
                    else:
                        hdrs[key] = v
                return HttpResponse(
                    resp.status, hdrs, body, str(resp.url), perf_counter() - started
                )
        except TransportError:
            raise
        except aiohttp.TooManyRedirects as exc:
            raise TransportError(
                K.REDIRECTS, f"too many redirects (more than {self._max_redirects})"
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(
                K.CONNECT, f"cannot connect to {exc.host}:{exc.port}: {exc.os_error}"
            ) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TransportError(K.TIMEOUT, f"timed out: {exc or 'no response in time'}") from exc
        except aiohttp.ClientError as exc:
            raise TransportError(_kind(exc), f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:
            raise TransportError(K.INVALID_REQUEST, f"invalid request: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None and self._owns_session and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> AiohttpTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _kind(exc: aiohttp.ClientError) -> K:
    if isinstance(exc, aiohttp.ClientSSLError):
        return K.TLS
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return K.RESET
    if isinstance(exc, aiohttp.ClientOSError):
        return K.RESET
    return K.OTHER


__all__ = ["AiohttpTransport"]
