"""The production :class:`~weft.effects.http.Transport`: one pooled aiohttp session, configured by
one :class:`~weft.effects.http_options.HttpOptions` (timeouts, the decoded size cap, the pool,
proxy and TLS).

Anything that yields no HTTP response raises :class:`~weft.effects.http.TransportError` with a
kind and a readable detail (which host, which limit), which the engine turns into a step failure.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import urllib.request
from dataclasses import replace
from time import perf_counter
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from weft.effects.http import HttpRequest, HttpResponse, TransportError
from weft.effects.http import TransportErrorKind as K
from weft.effects.http_options import DEFAULT_HTTP_OPTIONS, HttpOptions, fd_budget
from weft.errors import UsageError

DEFAULT_MAX_BODY = DEFAULT_HTTP_OPTIONS.max_response_bytes
_CHUNK = 64 * 1024


class AiohttpTransport:
    """Sends requests over one shared ``aiohttp.ClientSession`` (created lazily, on the running
    event loop). Use as an async context manager, or call :meth:`close` when done.

    ``limit`` and ``max_body`` are shorthands for the same fields of ``options``. ``notice`` is
    a line to show the user when the pool had to be made smaller than asked (the open-files
    limit), else ``None``.
    """

    def __init__(
        self,
        options: HttpOptions | None = None,
        *,
        limit: int | None = None,
        max_body: int | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        opts = options or DEFAULT_HTTP_OPTIONS
        if limit is not None:
            opts = opts.pooled(limit)
        if max_body is not None:
            opts = replace(opts, max_response_bytes=max_body)
        usable, self.notice = fd_budget(opts.limit)
        if usable < opts.limit:
            opts = replace(opts, limit=usable)
        self.options = opts
        self._ssl = _ssl_setting(opts)
        self._session = session
        self._owns_session = session is None
        # the environment's proxies, read once (aiohttp's trust_env reads them, and ~/.netrc,
        # in a worker thread for every request): scheme -> proxy URL, and NO_PROXY
        self._env = _environment_proxies() if opts.trust_env else {}
        self._bypassed: dict[str, bool] = {}  # host -> NO_PROXY names it
        # requests in flight, at most the pool's size: a request waits for a free connection
        # here, before its request timeout starts (the timeouts measure the network, not the
        # queue; aiohttp's own wait for a pooled connection would count against them)
        self._slots = asyncio.Semaphore(opts.limit)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            opts = self.options
            connector = aiohttp.TCPConnector(
                limit=opts.limit,
                limit_per_host=opts.limit_per_host,
                ttl_dns_cache=300,
                ssl=self._ssl,
            )
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=opts.connect_timeout, sock_read=opts.read_timeout
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                auto_decompress=True,
                skip_auto_headers=("Content-Type",),
                trust_env=False,  # proxies from the environment: see _proxy_for
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
        opts = self.options
        host = url.host or "?"
        slots = self._slots
        if slots.locked():  # the pool is busy: wait for a connection, not timed
            await slots.acquire()
            started = perf_counter()
        else:
            await slots.acquire()  # free now: never waits
        try:
            if opts.request_timeout is None:
                return await self._exchange(session, request, url, started)
            async with asyncio.timeout(opts.request_timeout):
                return await self._exchange(session, request, url, started)
        except TransportError:
            raise
        except aiohttp.TooManyRedirects as exc:
            raise TransportError(
                K.REDIRECTS, f"too many redirects (more than {opts.max_redirects})"
            ) from exc
        except aiohttp.ClientSSLError as exc:
            raise TransportError(K.TLS, _tls_detail(exc, host)) from exc
        except aiohttp.ClientProxyConnectionError as exc:
            raise TransportError(
                K.CONNECT, f"cannot connect to the proxy {exc.host}:{exc.port}: {exc.os_error}"
            ) from exc
        except aiohttp.ClientHttpProxyError as exc:
            raise TransportError(
                K.CONNECT, f"the proxy refused to connect to {host}: {exc.status} {exc.message}"
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ssl.SSLError):
                raise TransportError(K.TLS, _tls_detail(exc.os_error, host)) from exc
            raise TransportError(
                K.CONNECT, f"cannot connect to {exc.host}:{exc.port}: {exc.os_error}"
            ) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise TransportError(
                K.TIMEOUT, f"no connection to {host} within {opts.connect_timeout:g} s"
            ) from exc
        except aiohttp.SocketTimeoutError as exc:
            raise TransportError(
                K.TIMEOUT, f"{host} sent nothing for {opts.read_timeout:g} s (read timeout)"
            ) from exc
        except TimeoutError as exc:
            limit = opts.request_timeout
            raise TransportError(
                K.TIMEOUT,
                f"the request to {host} took longer than {limit:g} s (request timeout)"
                if limit is not None
                else f"timed out: {exc or 'no response in time'}",
            ) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(_kind(exc), f"{type(exc).__name__}: {exc}") from exc
        except ssl.SSLError as exc:
            raise TransportError(K.TLS, _tls_detail(exc, host)) from exc
        except ValueError as exc:
            raise TransportError(K.INVALID_REQUEST, f"invalid request: {exc}") from exc
        finally:
            slots.release()

    async def _exchange(
        self, session: aiohttp.ClientSession, request: HttpRequest, url: URL, started: float
    ) -> HttpResponse:
        opts = self.options
        headers: Any = request.headers
        async with session.request(
            request.method,
            url,
            headers=headers,
            data=request.body,
            allow_redirects=request.follow_redirects,
            max_redirects=opts.max_redirects,
            proxy=self._proxy_for(url),
        ) as resp:
            cap = opts.max_response_bytes
            declared = resp.content_length
            if declared is not None and not resp.headers.get("Content-Encoding"):
                if declared > cap:
                    raise TransportError(
                        K.TOO_LARGE, f"response too large: {declared} bytes (cap {cap})"
                    )
                # not encoded, with a length: the body is exactly that long (the parser stops
                # there), within the cap, so one read (no chunk loop) is as safe
                body = await resp.read()
            else:
                body = await _read_capped(resp, cap)
            hdrs: dict[str, str] = {}
            for k, v in resp.headers.items():
                key = k.lower()
                if key in hdrs:
                    hdrs[key] = f"{hdrs[key]}, {v}"
                else:
                    hdrs[key] = v
            return HttpResponse(resp.status, hdrs, body, str(resp.url), perf_counter() - started)

    def _proxy_for(self, url: URL) -> str | None:
        """``--proxy``, else the environment's proxy for the URL's scheme, unless NO_PROXY
        names the host."""
        proxy = self.options.proxy
        if proxy is None:
            proxy = self._env.get(url.scheme)
            if proxy is None:
                return None
        host = url.host
        if host:
            bypassed = self._bypassed.get(host)
            if bypassed is None:
                bypassed = self._bypassed[host] = _bypass(host, self._env)
            if bypassed:
                return None
        return proxy

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


async def _read_capped(resp: aiohttp.ClientResponse, cap: int) -> bytes:
    """The decoded body, read a chunk at a time: more than ``cap`` bytes after decompression
    (a gzip bomb announces only its compressed length) stops the read."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > cap:
            encoding = resp.headers.get("Content-Encoding")
            after = f" after {encoding} decompression" if encoding else ""
            raise TransportError(K.TOO_LARGE, f"response larger than the cap of {cap} bytes{after}")
        chunks.append(chunk)
    if len(chunks) == 1:
        return chunks[0]
    return b"".join(chunks)


def _ssl_setting(opts: HttpOptions) -> ssl.SSLContext | bool:
    """``False`` (no verification) with ``insecure``; the default context when nothing is
    configured; else a context with the CA bundle and the client certificate (made once per
    process for the same files: loading a CA bundle takes tens of milliseconds)."""
    if opts.insecure and opts.cert is None:
        return False
    ca_file = opts.ca_file
    if ca_file is None and opts.cert is None and not opts.insecure:
        return True
    return _ssl_context(ca_file, opts.cert, opts.key, opts.insecure)


@functools.lru_cache(maxsize=16)
def _ssl_context(
    ca_file: str | None, cert: str | None, key: str | None, insecure: bool
) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(
            f"cannot use the CA bundle {ca_file}",
            why=str(exc),
            hint="--ca-bundle (or SSL_CERT_FILE) takes a PEM file of CA certificates",
        ) from exc
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"cannot use the client certificate {cert}",
                why=str(exc),
                hint="--cert takes a PEM certificate; --key its private key (unencrypted PEM)",
            ) from exc
    return context


def _tls_detail(exc: BaseException, host: str) -> str:
    """``certificate verify failed for <host>: <why>`` or ``TLS handshake with <host> failed``."""
    cert_error = getattr(exc, "certificate_error", None)
    source = cert_error if isinstance(cert_error, ssl.SSLError) else exc
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, ssl.SSLError):
        source = exc.os_error
    if isinstance(source, ssl.SSLCertVerificationError):
        why = source.verify_message or source.reason or str(source)
        return f"certificate verify failed for {host}: {why}"
    reason = getattr(source, "reason", None) or str(source)
    return f"TLS handshake with {host} failed: {reason}"


def _environment_proxies() -> dict[str, str]:
    """``HTTP_PROXY``/``HTTPS_PROXY`` (by the scheme they serve) and ``NO_PROXY`` (key
    ``no``), as aiohttp's ``trust_env`` reads them (proxies that are themselves https are not
    supported there and ignored here too)."""
    found = urllib.request.getproxies_environment()
    out = {k: v for k, v in found.items() if k in ("http", "https") and _plain_proxy(v)}
    if "no" in found:
        out["no"] = found["no"]
    return out


def _plain_proxy(url: str) -> bool:
    try:
        return URL(url).scheme == "http"
    except (ValueError, TypeError):
        return False


def _bypass(host: str, env: dict[str, str]) -> bool:
    """Whether ``NO_PROXY`` (or ``no_proxy``) names ``host``; ``env``: the proxies read when
    the transport was made (else the process's environment now)."""
    check: Any = getattr(urllib.request, "proxy_bypass_environment", None)
    if check is None:
        return False
    return bool(check(host, env)) if env else bool(check(host))


def _kind(exc: aiohttp.ClientError) -> K:
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return K.RESET
    if isinstance(exc, aiohttp.ClientOSError):
        return K.RESET
    return K.OTHER


__all__ = ["DEFAULT_MAX_BODY", "AiohttpTransport"]
