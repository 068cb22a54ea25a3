"""OAuth2 client credentials (RFC 6749 §4.4) and OpenID Connect discovery, for the security
schemes of a run's sources.

A :class:`TokenCache` fetches each access token once (per token endpoint, client and scopes),
keeps it until shortly before it expires, and fetches a new one when a server answers 401 to
it (:meth:`TokenCache.invalidate`). Concurrent runs of a batch wait for one fetch. Discovery
documents (``openIdConnectUrl``) are read once for their ``token_endpoint``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import orjson

from weft.effects import HttpRequest, Transport, TransportError

EXPIRY_MARGIN = 30.0  # seconds before its expiry a token is no longer used (at most a tenth)
DEFAULT_LIFETIME = 3600.0  # a token answer without expires_in


class TokenError(Exception):
    """No token could be had: ``detail`` says why (never holding a secret)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class TokenKey:
    token_url: str
    client_id: str
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires: float  # time.monotonic() after which it is not used


class TokenCache:
    """Access tokens and discovered token endpoints, shared by the runs of one configuration.
    ``now`` is the clock expiry is measured on (``time.monotonic``)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._tokens: dict[TokenKey, Token] = {}
        self._pending: dict[object, asyncio.Future[object]] = {}
        self._endpoints: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.fetches = 0  # token requests sent (for tests and diagnostics)

    async def token(
        self, transport: Transport, key: TokenKey, secret: str, basic: bool = True
    ) -> str:
        """A valid access token for ``key`` (fetched when there is none or it expired)."""
        held = self._tokens.get(key)
        if held is not None and held.expires > self._now():
            return held.value

        async def fetch() -> object:
            token = await self._fetch(transport, key, secret, basic)
            self._tokens[key] = token
            return token.value

        value = await self._once(key, fetch)
        assert isinstance(value, str)
        return value

    def current(self, key: TokenKey) -> str | None:
        """The token held for ``key`` while it is valid, else ``None``."""
        held = self._tokens.get(key)
        return held.value if held is not None and held.expires > self._now() else None

    def invalidate(self, key: TokenKey, value: str) -> None:
        """Forget ``value`` (a server refused it) unless a newer token replaced it already."""
        held = self._tokens.get(key)
        if held is not None and held.value == value:
            del self._tokens[key]

    async def discover(self, transport: Transport, url: str) -> tuple[str, tuple[str, ...]]:
        """The ``token_endpoint`` of an OpenID Connect discovery document, and the client
        authentication methods it supports."""
        known = self._endpoints.get(url)
        if known is not None:
            return known

        async def fetch() -> object:
            found = await _discover(transport, url)
            self._endpoints[url] = found
            return found

        result = await self._once(("discovery", url), fetch)
        assert isinstance(result, tuple)
        return result

    async def _once(self, key: object, fetch: Callable[[], Awaitable[object]]) -> object:
        """Run ``fetch`` once for every caller that asks for ``key`` meanwhile."""
        loop = asyncio.get_running_loop()
        pending = self._pending.get(key)
        if pending is None or pending.get_loop() is not loop or pending.done():
            pending = loop.create_future()
            self._pending[key] = pending
            try:
                result = await fetch()
            except BaseException as exc:
                pending.set_exception(exc)
                pending.exception()  # retrieved: no "never retrieved" warning
                raise
            finally:
                if self._pending.get(key) is pending:
                    del self._pending[key]
            pending.set_result(result)
            return result
        return await asyncio.shield(pending)

    async def _fetch(self, transport: Transport, key: TokenKey, secret: str, basic: bool) -> Token:
        form: dict[str, str] = {"grant_type": "client_credentials"}
        if key.scopes:
            form["scope"] = " ".join(key.scopes)
        headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ]
        if basic:  # client_secret_basic: both parts form-encoded first (RFC 6749 §2.3.1)
            pair = f"{quote(key.client_id, safe='')}:{quote(secret, safe='')}"
            headers.append(("Authorization", "Basic " + base64.b64encode(pair.encode()).decode()))
        else:  # client_secret_post
            form["client_id"] = key.client_id
            form["client_secret"] = secret
        request = HttpRequest("POST", key.token_url, headers, urlencode(form).encode())
        self.fetches += 1
        started = self._now()
        try:
            response = await transport.send(request)
        except TransportError as exc:
            detail = f"no answer from the token endpoint {key.token_url}: {exc.detail}"
            raise TokenError(detail) from None
        body = _json(response.body)
        if response.status != 200 or not isinstance(body, dict):
            said = ""
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                said = f" ({body['error']}"
                if isinstance(body.get("error_description"), str):
                    said += f": {body['error_description']}"
                said += ")"
            raise TokenError(f"the token endpoint {key.token_url} answered {response.status}{said}")
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise TokenError(f"the token endpoint {key.token_url} answered no access_token")
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else DEFAULT_LIFETIME
        margin = min(EXPIRY_MARGIN, seconds / 10)
        return Token(value, started + seconds - margin)


async def _discover(transport: Transport, url: str) -> tuple[str, tuple[str, ...]]:
    request = HttpRequest("GET", url, [("Accept", "application/json")])
    try:
        response = await transport.send(request)
    except TransportError as exc:
        detail = f"no answer from the OpenID Connect discovery URL {url}: {exc.detail}"
        raise TokenError(detail) from None
    body = _json(response.body)
    endpoint = body.get("token_endpoint") if isinstance(body, dict) else None
    if response.status != 200 or not isinstance(endpoint, str) or not endpoint:
        raise TokenError(
            f"the OpenID Connect discovery document {url} (status {response.status}) names no "
            "token_endpoint"
        )
    methods = body.get("token_endpoint_auth_methods_supported") if isinstance(body, dict) else None
    supported = tuple(str(m) for m in methods) if isinstance(methods, list) else ()
    return endpoint, supported


def _json(data: bytes) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


__all__ = ["TokenCache", "TokenError", "TokenKey"]
