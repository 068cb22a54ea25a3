"""How weft talks HTTP: one frozen :class:`HttpOptions` (timeouts, the response size cap, the
connection pool, proxy and TLS), built once at the boundary (the library call, the command line)
and handed to :class:`~weft.effects.aiohttp_transport.AiohttpTransport`.

```python
options = HttpOptions.build(read_timeout=30, proxy="http://127.0.0.1:3128", ca_bundle="ca.pem")
transport = AiohttpTransport(options.pooled(concurrency=32))
```

Defaults (``docs/semantics.md``): connect 10 s, read 120 s (longer than the 100 s long-poll
Civitai's API allows), 300 s per request in all, 64 MiB of decoded response body, 10 redirects,
a pool of 100 connections. ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` and ``SSL_CERT_FILE``
are honoured unless ``trust_env`` is off.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from weft.errors import UsageError

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 120.0
DEFAULT_REQUEST_TIMEOUT = 300.0
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 10
DEFAULT_POOL_LIMIT = 100
FDS_PER_CONNECTION_MARGIN = 64  # descriptors kept for everything else (store, files, stdio)


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Transport settings (see the module docstring). Times are seconds; ``None`` = no limit.

    ``connect_timeout``: to open a connection (TLS handshake included). ``read_timeout``: the
    longest silence while waiting for (a part of) the answer. ``request_timeout``: the whole
    request, answer body included (ends a server that drips a byte at a time).
    ``max_response_bytes``: the answer body after decompression. ``limit`` /
    ``limit_per_host``: connections in the pool (0 = no limit per host). ``proxy``: one proxy
    URL for every request (else the environment's, with ``trust_env``). ``ca_bundle``: PEM
    file of trusted CAs (else ``SSL_CERT_FILE``, else the system's). ``cert``/``key``: a client
    certificate (mTLS). ``insecure``: no certificate verification at all.
    """

    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float | None = DEFAULT_READ_TIMEOUT
    request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    limit: int = DEFAULT_POOL_LIMIT
    limit_per_host: int = 0
    proxy: str | None = None
    ca_bundle: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False
    trust_env: bool = True

    @classmethod
    def build(
        cls,
        options: HttpOptions | None = None,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        request_timeout: float | None = None,
        max_response_bytes: int | None = None,
        max_redirects: int | None = None,
        limit: int | None = None,
        limit_per_host: int | None = None,
        proxy: str | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        cert: str | os.PathLike[str] | None = None,
        key: str | os.PathLike[str] | None = None,
        insecure: bool | None = None,
        trust_env: bool | None = None,
    ) -> HttpOptions:
        """``options`` (default: the defaults) with the given values checked and applied. A
        timeout of 0 means no limit. A bad value is a :class:`~weft.errors.UsageError`."""
        base = options or DEFAULT_HTTP_OPTIONS
        changes: dict[str, Any] = {}
        for name, value, flag in (
            ("connect_timeout", connect_timeout, "--connect-timeout"),
            ("read_timeout", read_timeout, "--read-timeout"),
            ("request_timeout", request_timeout, "--request-timeout"),
        ):
            if value is not None:
                changes[name] = _seconds(value, flag)
        for name, count, flag, least in (
            ("max_response_bytes", max_response_bytes, "--max-response-bytes", 1),
            ("max_redirects", max_redirects, "max_redirects", 0),
            ("limit", limit, "limit", 1),
            ("limit_per_host", limit_per_host, "limit_per_host", 0),
        ):
            if count is not None:
                changes[name] = _count(count, flag, least)
        if proxy is not None:
            changes["proxy"] = _proxy(proxy)
        for name, path, flag in (("ca_bundle", ca_bundle, "--ca-bundle"), ("cert", cert, "--cert"),
                                 ("key", key, "--key")):  # fmt: skip
            if path is not None:
                changes[name] = _readable(path, flag)
        if insecure is not None:
            changes["insecure"] = bool(insecure)
        if trust_env is not None:
            changes["trust_env"] = bool(trust_env)
        built = replace(base, **changes) if changes else base
        if built.key is not None and built.cert is None:
            raise UsageError(
                "--key was given without --cert",
                hint="pass the client certificate too: --cert client.pem --key client.key",
            )
        return built

    def pooled(self, concurrency: int) -> HttpOptions:
        """These options with a pool at least as large as ``concurrency`` runs in flight."""
        return self if concurrency <= self.limit else replace(self, limit=concurrency)

    @property
    def ca_file(self) -> str | None:
        """The CA bundle in force: ``ca_bundle``, else ``SSL_CERT_FILE`` (with ``trust_env``)."""
        if self.ca_bundle is not None:
            return self.ca_bundle
        if self.trust_env:
            env = os.environ.get("SSL_CERT_FILE")
            if env:
                return env
        return None


DEFAULT_HTTP_OPTIONS = HttpOptions()


def _seconds(value: float, flag: str) -> float | None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise UsageError(
            f"{flag} must be a number of seconds (0 for no limit), not {value!r}",
            hint=f"{flag} 30",
        )
    return float(value) if value > 0 else None


def _count(value: int, flag: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise UsageError(
            f"{flag} must be a whole number of at least {least}, not {value!r}",
            hint=f"{flag} {max(least, 1)}",
        )
    return value


def _proxy(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--proxy {url!r} is not an http:// or https:// proxy URL",
            hint="--proxy http://proxy.example:3128",
        )
    return url


def _readable(path: str | os.PathLike[str], flag: str) -> str:
    text = os.fspath(path)
    if not Path(text).is_file():
        raise UsageError(
            f"{flag} {text}: no such file",
            hint=f"{flag} takes the path of a PEM file",
        )
    return text


def fd_budget(connections: int) -> tuple[int, str | None]:
    """Make room for ``connections`` open sockets: raise the soft limit of open files up to the
    hard limit when it is too low. Returns the connections that fit (``connections`` when they
    all do) and, when they do not, a one-line notice saying so."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return connections, None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + FDS_PER_CONNECTION_MARGIN
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return connections, None
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft >= wanted:
        return connections, None
    usable = max(soft - FDS_PER_CONNECTION_MARGIN, 1)
    return usable, (
        f"concurrency {connections} needs about {wanted} open files but the limit is {soft} "
        f"(hard limit {hard}): the connection pool holds {usable} connections and other "
        f"requests wait for a free one; `ulimit -n {wanted}` raises the limit"
    )


__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_HTTP_OPTIONS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_REQUEST_TIMEOUT",
    "HttpOptions",
    "fd_budget",
]
