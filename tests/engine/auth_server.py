"""A loopback API that checks every kind of credential, an OAuth2 token endpoint that counts
token requests and expires or revokes tokens, and an OpenID Connect discovery document; with
its OpenAPI description and an Arazzo workflow calling each operation. Every protected answer
echoes the credential it was given (masking must catch it)."""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from aiohttp import web

API_KEY = "key+/=&value-4711"  # URL-encoding changes it
COOKIE_KEY = "cookie-secret-0815"
BEARER = "bearer-token-9f8e7d"
BASIC = "alice:p@ss:w0rd/+"
CLIENT = "client-1:client-secret-xyz"
OIDC_CLIENT = "oidc-client:oidc-secret-abc"


def forms(secret: str) -> list[str]:
    """The forms a secret could leak in: raw, base64, URL-encoded."""
    from urllib.parse import quote, quote_plus

    return [
        secret,
        base64.b64encode(secret.encode()).decode(),
        quote(secret, safe=""),
        quote_plus(secret),
    ]


@dataclass
class AuthState:
    token_requests: int = 0
    oidc_token_requests: int = 0
    discovery_requests: int = 0
    expires_in: int = 3600
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    always_401: bool = False
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # path, authorization
    scopes: list[str] = field(default_factory=list)
    flaky: int = 0  # /flaky answers 503 this many times first


def auth_app(state: AuthState) -> web.Application:
    counter = itertools.count(1)

    def echo(request: web.Request, ok: bool, credential: str | None) -> web.Response:
        state.seen.append((request.path, request.headers.get("Authorization")))
        if not ok:
            return web.json_response({"error": f"unauthorized: {credential}"}, status=401)
        return web.json_response({"ok": True, "echo": credential})

    async def key_header(request: web.Request) -> web.Response:
        got = request.headers.get("X-API-Key")
        return echo(request, got == API_KEY, got)

    async def key_query(request: web.Request) -> web.Response:
        got = request.query.get("api_key")
        return echo(request, got == API_KEY, got)

    async def key_cookie(request: web.Request) -> web.Response:
        got = request.cookies.get("session")
        return echo(request, got == COOKIE_KEY, got)

    async def bearer(request: web.Request) -> web.Response:
        got = request.headers.get("Authorization")
        return echo(request, got == f"Bearer {BEARER}", got)

    async def basic(request: web.Request) -> web.Response:
        got = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(BASIC.encode()).decode()
        return echo(request, got == expected, got)

    def valid(request: web.Request) -> bool:
        got = request.headers.get("Authorization", "")
        token = got.removeprefix("Bearer ")
        return (
            not state.always_401
            and got.startswith("Bearer ")
            and token in state.issued
            and token not in state.revoked
        )

    async def oauth(request: web.Request) -> web.Response:
        return echo(request, valid(request), request.headers.get("Authorization"))

    def issue(prefix: str) -> web.Response:
        token = f"{prefix}-{next(counter)}-Zq8"
        state.issued.append(token)
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": state.expires_in}
        )

    async def token(request: web.Request) -> web.Response:
        state.token_requests += 1
        form = await request.post()
        header = request.headers.get("Authorization", "")
        pair = base64.b64decode(header.removeprefix("Basic ")).decode() if header else ""
        client_id, _, secret = pair.partition(":")
        if form.get("grant_type") != "client_credentials" or (
            f"{unquote(client_id)}:{unquote(secret)}" != CLIENT
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        state.scopes.append(str(form.get("scope", "")))
        return issue("cc")

    async def oidc_token(request: web.Request) -> web.Response:
        state.oidc_token_requests += 1
        form = await request.post()  # client_secret_post: the discovery document says so
        if f"{form.get('client_id')}:{form.get('client_secret')}" != OIDC_CLIENT:
            return web.json_response({"error": "invalid_client"}, status=401)
        return issue("oidc")

    async def discovery(request: web.Request) -> web.Response:
        state.discovery_requests += 1
        base = f"{request.scheme}://{request.host}"
        return web.json_response(
            {
                "issuer": base,
                "token_endpoint": f"{base}/oidc/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            }
        )

    async def open_(request: web.Request) -> web.Response:
        return echo(request, True, request.headers.get("Authorization"))

    async def flaky(request: web.Request) -> web.Response:
        if state.flaky > 0:
            state.flaky -= 1
            said = request.headers.get("Authorization")  # a careless server echoes it
            return web.json_response({"error": f"busy, try again ({said})"}, status=503)
        got = request.headers.get("Authorization")
        return echo(request, got == f"Bearer {BEARER}", got)

    async def either(request: web.Request) -> web.Response:
        got = request.headers.get("Authorization", "")
        is_basic = got == "Basic " + base64.b64encode(BASIC.encode()).decode()
        both = valid(request) and request.headers.get("X-API-Key") == API_KEY
        return echo(request, is_basic or both, got)

    app = web.Application()
    for path, handler in (
        ("/either", either),
        ("/key-header", key_header),
        ("/key-query", key_query),
        ("/key-cookie", key_cookie),
        ("/bearer", bearer),
        ("/basic", basic),
        ("/oauth", oauth),
        ("/oidc", oauth),
        ("/open", open_),
        ("/flaky", flaky),
    ):
        app.router.add_get(path, handler)
    app.router.add_post("/token", token)
    app.router.add_post("/oidc/token", oidc_token)
    app.router.add_get("/.well-known/openid-configuration", discovery)
    return app


OPENAPI = """
openapi: 3.1.0
info: {title: secured, version: '1'}
servers: [{url: 'http://example.invalid'}]
security: [{bearer: []}]
paths:
  /key-header: {get: {operationId: keyHeader, security: [{headerKey: []}]}}
  /key-query: {get: {operationId: keyQuery, security: [{queryKey: []}]}}
  /key-cookie: {get: {operationId: keyCookie, security: [{cookieKey: []}]}}
  /bearer: {get: {operationId: bearer}}
  /basic: {get: {operationId: basic, security: [{basic: []}]}}
  /oauth: {get: {operationId: oauth, security: [{cc: [read, write]}]}}
  /oidc: {get: {operationId: oidc, security: [{oidc: []}]}}
  /open: {get: {operationId: optional, security: [{}, {bearer: []}]}}
  /flaky: {get: {operationId: flaky}}
  /either:
    get:
      operationId: either
      security: [{cc: [], headerKey: []}, {basic: []}]
      responses: {'200': {description: ok}}
components:
  securitySchemes:
    headerKey: {type: apiKey, in: header, name: X-API-Key}
    queryKey: {type: apiKey, in: query, name: api_key}
    cookieKey: {type: apiKey, in: cookie, name: session}
    bearer: {type: http, scheme: bearer}
    basic: {type: http, scheme: basic}
    cc:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: /token, scopes: {read: r, write: w}}}
    oidc: {type: openIdConnect, openIdConnectUrl: /.well-known/openid-configuration}
"""


def _steps(*ops: str) -> str:
    return "".join(
        f"""
      - stepId: {op}
        operationId: {op}
        outputs: {{echo: $response.body#/echo}}"""
        for op in ops
    )


ALL_OPS = ("keyHeader", "keyQuery", "keyCookie", "bearer", "basic", "oauth", "oidc", "optional")

ARAZZO = f"""
arazzo: 1.0.1
info: {{title: secured, version: '1'}}
sourceDescriptions: [{{name: api, url: ./api.openapi.yaml, type: openapi}}]
workflows:
  - workflowId: all
    steps:{_steps(*ALL_OPS)}
    outputs:
      headerKey: $steps.keyHeader.outputs.echo
      queryKey: $steps.keyQuery.outputs.echo
      bearer: $steps.bearer.outputs.echo
  - workflowId: oauthTwice
    steps:{_steps("oauth")}
      - stepId: again
        operationId: oauth
  - workflowId: oidcTwice
    steps:{_steps("oidc")}
      - stepId: again
        operationId: oidc
  - workflowId: one
    inputs: {{type: object, properties: {{op: {{type: string}}}}}}
    steps:{_steps("bearer")}
  - workflowId: optional
    steps:{_steps("optional")}
  - workflowId: either
    steps:{_steps("either")}
  - workflowId: flaky
    steps:{_steps("flaky")}
  - workflowId: ownHeader
    steps:
      - stepId: bearer
        operationId: bearer
        parameters:
          - {{name: Authorization, in: header, value: Bearer step-own-token}}
      - stepId: keyQuery
        operationId: keyQuery
        parameters:
          - {{name: api_key, in: query, value: step-own-key}}
  - workflowId: bound
    x-weft-auth: {{api.bearer: $inputs.token}}
    inputs:
      type: object
      required: [token]
      properties: {{token: {{type: string, format: password}}}}
    steps:{_steps("bearer")}
"""


def write_flow(tmp: Path) -> Path:
    (tmp / "api.openapi.yaml").write_text(OPENAPI)
    path = tmp / "flow.arazzo.yaml"
    path.write_text(ARAZZO)
    return path
