"""The credentials a run may use for the security schemes of its sources, from where the user
gives them: ``--auth`` / ``auth=`` (:attr:`AuthConfig.given`), ``--auth-file``
(:attr:`AuthConfig.file`) and ``WEFT_AUTH_<SOURCE>_<SCHEME>`` environment variables
(:attr:`AuthConfig.environ`).

A key is a scheme name (``bearer``: that scheme in any source) or a source-qualified one
(``orchestration.bearer``), which wins. Values are strings: a token or key, ``user:password``
for HTTP basic, ``client_id:client_secret`` for OAuth2 client credentials and OpenID Connect.

Credentials are never recorded: :class:`AuthConfig` is not part of a run's snapshot, and every
value is a secret of the run (masked everywhere). The same :class:`AuthConfig` may serve many
runs (a batch): its :class:`~weft.engine.oauth.TokenCache` fetches an OAuth2 token once for all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from weft.engine.oauth import TokenCache
from weft.errors import UsageError

ENV_PREFIX = "WEFT_AUTH_"
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def env_name(source: str, scheme: str) -> str:
    """The environment variable read for ``scheme`` of ``source``:
    ``WEFT_AUTH_<SOURCE>_<SCHEME>``, upper-cased, every other character than A-Z and 0-9 as
    ``_`` (``petstore`` / ``api-key`` -> ``WEFT_AUTH_PETSTORE_API_KEY``)."""
    return ENV_PREFIX + _NOT_ALNUM.sub("_", f"{source}_{scheme}").upper()


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Where a run's credentials come from (see the module docstring). Build it with
    :meth:`build`; ``AuthConfig()`` has none (the environment is not read)."""

    given: Mapping[str, str] = field(default_factory=dict)
    file: Mapping[str, str] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    tokens: TokenCache = field(default_factory=TokenCache, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        auth: AuthConfig | Mapping[str, Any] | Iterable[str] | None = None,
        *,
        file_values: Any = None,
        file_name: str = "--auth-file",
        environ: Mapping[str, str] | None = None,
    ) -> AuthConfig:
        """Credentials from ``auth`` (a mapping of key -> value, or ``KEY=VALUE`` strings as
        ``--auth`` gives them), ``file_values`` (what an ``--auth-file`` holds) and the
        ``WEFT_AUTH_*`` variables of ``environ`` (default: ``os.environ``)."""
        if isinstance(auth, AuthConfig):
            base = auth
            given: dict[str, str] = dict(base.given)
            tokens = base.tokens
        else:
            given = {}
            tokens = TokenCache()
            if auth is not None:
                given = _pairs(auth) if not isinstance(auth, Mapping) else _mapping(auth, "auth")
        file = _mapping(file_values, file_name) if file_values is not None else {}
        captured = _captured(os.environ if environ is None else environ)
        return cls(given, file, captured, tokens)

    @classmethod
    def from_environment(cls) -> AuthConfig:
        """Only the ``WEFT_AUTH_*`` variables; the same value (and token cache) while they stay
        the same, so runs of one process share their OAuth2 tokens."""
        global _FROM_ENV
        captured = _captured(os.environ)
        held = _FROM_ENV
        if held is not None and held.environ == captured:
            return held
        _FROM_ENV = cls(environ=captured)
        return _FROM_ENV

    def lookup(self, source: str, scheme: str, *, env: bool = True) -> tuple[str, str] | None:
        """The credential for ``scheme`` of ``source`` and where it came from (``--auth``,
        ``--auth-file`` or the variable's name), from the options and the file (a qualified
        key before a plain one), then (with ``env``) the environment."""
        qualified = f"{source}.{scheme}"
        for table, where in ((self.given, "--auth"), (self.file, "--auth-file")):
            for key in (qualified, scheme):
                value = table.get(key)
                if value:
                    return value, f"{where} {key}"
        if env:
            name = env_name(source, scheme)
            value = self.environ.get(name)
            if value:
                return value, name
        return None

    def values(self) -> list[str]:
        """Every credential value (all are secrets of a run)."""
        return [*self.given.values(), *self.file.values(), *self.environ.values()]

    @property
    def keys(self) -> list[str]:
        """The keys given explicitly (``--auth`` and ``--auth-file``), to check against the
        document's schemes."""
        return [*self.given, *self.file]


EMPTY_AUTH = AuthConfig()
_FROM_ENV: AuthConfig | None = None


def _captured(environ: Mapping[str, str]) -> dict[str, str]:
    names = [k for k in environ if k.startswith(ENV_PREFIX)]
    return {k: environ[k] for k in names if environ[k]}


def _pairs(items: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, str):
            raise UsageError(f"--auth {item!r} is not SCHEME=VALUE", hint="--auth bearer=TOKEN")
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value:
            # never echo the value: it is a credential
            shown = key or "(empty)"
            raise UsageError(
                f"--auth {shown}…: not SCHEME=VALUE (or SOURCE.SCHEME=VALUE)",
                hint="--auth bearer=TOKEN, --auth petstore.basic=user:password",
            )
        out[key] = value
    return out


def _mapping(values: Any, where: str) -> dict[str, str]:
    """``{key: value}`` or ``{source: {scheme: value}}``; a value may be a string or, for basic
    and client credentials, ``{username, password}`` / ``{clientId, clientSecret}``."""
    if not isinstance(values, Mapping):
        raise UsageError(
            f"{where} must hold a mapping of scheme names to credentials",
            why=f"it holds a {type(values).__name__}",
            hint='{"petstore.api_key": "…"} or {"petstore": {"api_key": "…"}}',
        )
    out: dict[str, str] = {}
    for key, value in values.items():
        name = str(key)
        text = _credential(value)
        if text is not None:
            out[name] = text
        elif isinstance(value, Mapping):
            for scheme, inner in value.items():
                inner_text = _credential(inner)
                if inner_text is None:
                    raise UsageError(
                        f"{where}: the credential {name}.{scheme} is not a string",
                        hint="a token, user:password or client_id:client_secret",
                    )
                out[f"{name}.{scheme}"] = inner_text
        else:
            raise UsageError(
                f"{where}: the credential {name} is not a string",
                hint="a token, user:password or client_id:client_secret",
            )
    return out


def _credential(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Mapping):
        user = value.get("username", value.get("user"))
        password = value.get("password")
        if isinstance(user, str) and isinstance(password, str):
            return f"{user}:{password}"
        client = value.get("clientId", value.get("client_id"))
        secret = value.get("clientSecret", value.get("client_secret"))
        if isinstance(client, str) and isinstance(secret, str):
            return f"{client}:{secret}"
    return None


__all__ = ["EMPTY_AUTH", "ENV_PREFIX", "AuthConfig", "env_name"]
