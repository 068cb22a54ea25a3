"""What an OpenAPI description says about authentication: its security schemes
(``components.securitySchemes``, Swagger 2.0 ``securityDefinitions``) and the security
requirements of each operation (its own ``security``, else the document's).

```python
schemes = security_schemes(description)          # name -> SecurityScheme
alternatives = requirements(operation, description)   # [Requirement, ...]; [] = none declared
```

A requirement is one object of a ``security`` list: every scheme it names is needed together
(with scopes for OAuth2); the list holds alternatives. An empty requirement (``{}``) means the
operation can be called without credentials. This module only reads the description; which
credentials are used is the engine's business (``weft.engine.auth``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from weft.errors import WeftError
from weft.openapi.description import OpenAPIDescription, Operation


class SchemeType(StrEnum):
    API_KEY = "apiKey"
    HTTP = "http"
    OAUTH2 = "oauth2"
    OPENID_CONNECT = "openIdConnect"
    MUTUAL_TLS = "mutualTLS"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class SecurityScheme:
    """One security scheme of a description.

    ``apiKey``: ``location`` (header, query, cookie) and ``param_name``. ``http``: ``scheme``
    (lower-cased: bearer, basic, ...). ``oauth2``: ``token_url`` of its client-credentials flow
    (``None`` when it has none) and the flows it declares. ``openIdConnect``:
    ``openid_url`` (the discovery document).
    """

    name: str
    type: SchemeType
    source: str  # the source description's name
    location: str | None = None
    param_name: str | None = None
    scheme: str | None = None
    token_url: str | None = None
    flows: tuple[str, ...] = ()
    openid_url: str | None = None
    description: str | None = None

    @property
    def label(self) -> str:
        """``http bearer``, ``apiKey in header X-API-Key``, ``oauth2 clientCredentials``…"""
        t = self.type
        if t == SchemeType.HTTP:
            return f"http {self.scheme or '?'}"
        if t == SchemeType.API_KEY:
            return f"apiKey in {self.location} {self.param_name}"
        if t == SchemeType.OAUTH2:
            return "oauth2 " + (", ".join(self.flows) or "(no flows)")
        if t == SchemeType.OPENID_CONNECT:
            return f"openIdConnect {self.openid_url}"
        return str(t.value)

    @property
    def credential_form(self) -> str:
        """How its credential is written (``--auth NAME=<this>``)."""
        t = self.type
        if t == SchemeType.HTTP and self.scheme == "basic":
            return "user:password"
        if t == SchemeType.HTTP and self.scheme == "bearer":
            return "token"
        if t == SchemeType.HTTP:
            return "credentials"
        if t == SchemeType.API_KEY:
            return "key"
        if t == SchemeType.OPENID_CONNECT or (t == SchemeType.OAUTH2 and self.token_url):
            return "client_id:client_secret"
        if t == SchemeType.OAUTH2:
            return "access token"
        return "(not supported)"

    @property
    def supported(self) -> bool:
        return self.type not in (SchemeType.MUTUAL_TLS, SchemeType.OTHER)


@dataclass(frozen=True, slots=True)
class Requirement:
    """One security requirement object: scheme name -> scopes, all needed together."""

    schemes: tuple[tuple[str, tuple[str, ...]], ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.schemes

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.schemes)


_CACHE: dict[int, tuple[Any, dict[str, SecurityScheme]]] = {}


def security_schemes(description: OpenAPIDescription) -> dict[str, SecurityScheme]:
    """The description's security schemes by name (references resolved; cached)."""
    raw = description.raw
    hit = _CACHE.get(id(description))
    if hit is not None and hit[0] is raw:
        return hit[1]
    found: dict[str, SecurityScheme] = {}
    if isinstance(raw, Mapping):
        swagger = str(raw.get("swagger", "")).startswith("2")
        if swagger:
            table = raw.get("securityDefinitions")
        else:
            components = raw.get("components")
            table = components.get("securitySchemes") if isinstance(components, Mapping) else None
        if isinstance(table, Mapping):
            for name, entry in table.items():
                resolved = _follow(description, entry)
                if isinstance(resolved, Mapping):
                    scheme = _scheme(str(name), description.name, resolved, swagger)
                    found[scheme.name] = scheme
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[id(description)] = (raw, found)
    return found


def requirements(operation: Operation, description: OpenAPIDescription) -> list[Requirement]:
    """The operation's security alternatives: its own ``security`` when it has one (an empty
    list there means no security), else the document's top-level ``security``. An empty result
    means the operation needs no credentials."""
    own = operation.raw.get("security") if isinstance(operation.raw, Mapping) else None
    if own is None:
        raw = description.raw
        own = raw.get("security") if isinstance(raw, Mapping) else None
    if not isinstance(own, list):
        return []
    out: list[Requirement] = []
    for item in own:
        if not isinstance(item, Mapping):
            continue
        out.append(
            Requirement(
                tuple(
                    (str(name), tuple(str(s) for s in scopes) if isinstance(scopes, list) else ())
                    for name, scopes in item.items()
                )
            )
        )
    return out


def _follow(description: OpenAPIDescription, value: Any) -> Any:
    resolver = description.resolver
    if resolver is None or not isinstance(value, Mapping) or "$ref" not in value:
        return value
    try:
        return resolver.deep(value, description.url)
    except WeftError:  # a broken reference: the scheme is unusable, not the description
        return None


def _scheme(name: str, source: str, raw: Mapping[str, Any], swagger: bool) -> SecurityScheme:
    kind = raw.get("type")
    description = raw.get("description") if isinstance(raw.get("description"), str) else None
    common: dict[str, Any] = {"name": name, "source": source, "description": description}
    if kind == "apiKey":
        return SecurityScheme(
            type=SchemeType.API_KEY,
            location=str(raw.get("in", "header")),
            param_name=str(raw.get("name", "")),
            **common,
        )
    if kind == "http":
        return SecurityScheme(
            type=SchemeType.HTTP, scheme=str(raw.get("scheme", "")).lower(), **common
        )
    if kind == "basic" and swagger:
        return SecurityScheme(type=SchemeType.HTTP, scheme="basic", **common)
    if kind == "oauth2":
        if swagger:
            flow = str(raw.get("flow", ""))
            token_url = raw.get("tokenUrl") if flow == "application" else None
            flows: tuple[str, ...] = ("clientCredentials",) if flow == "application" else (flow,)
        else:
            declared = raw.get("flows") if isinstance(raw.get("flows"), Mapping) else {}
            assert isinstance(declared, Mapping)
            flows = tuple(str(f) for f in declared)
            cc = declared.get("clientCredentials")
            token_url = cc.get("tokenUrl") if isinstance(cc, Mapping) else None
        return SecurityScheme(
            type=SchemeType.OAUTH2,
            token_url=token_url if isinstance(token_url, str) else None,
            flows=flows,
            **common,
        )
    if kind == "openIdConnect":
        url = raw.get("openIdConnectUrl")
        return SecurityScheme(
            type=SchemeType.OPENID_CONNECT,
            openid_url=url if isinstance(url, str) else None,
            **common,
        )
    if kind == "mutualTLS":
        return SecurityScheme(type=SchemeType.MUTUAL_TLS, **common)
    return SecurityScheme(type=SchemeType.OTHER, **common)


__all__ = ["Requirement", "SchemeType", "SecurityScheme", "requirements", "security_schemes"]
