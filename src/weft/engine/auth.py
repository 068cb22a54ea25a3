"""Authentication of operation steps from their OpenAPI security requirements.

For each step, :class:`RunAuth` picks the first security alternative of its operation whose
credentials are all available (an empty requirement ``{}`` is used only when none is: then the
call goes without credentials), and adds them to the built request: an ``apiKey`` header, query
parameter or cookie, an ``http`` ``Authorization`` (bearer, basic, other schemes), an OAuth2 or
OpenID Connect access token fetched with the client-credentials grant (cached; fetched again once
when the server answers 401).

Where a credential comes from, first found wins (``docs/semantics.md``):

1. a parameter the step sets itself (an ``Authorization`` header, the apiKey's own parameter):
   then nothing is added for that scheme;
2. ``--auth`` / ``auth=`` (``SOURCE.SCHEME`` before ``SCHEME``), then ``--auth-file``;
3. the workflow's ``x-weft-auth`` (``{SOURCE.SCHEME or SCHEME: expression}``, e.g. a
   ``format: password`` input);
4. the environment variable ``WEFT_AUTH_<SOURCE>_<SCHEME>``.

Every credential, and every form of it that is sent (base64, URL-encoded, fetched tokens), is
added to the run's :class:`~weft.secrets.SecretSet` before anything is recorded.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, urljoin

from weft.effects import HttpRequest, Transport
from weft.engine.credentials import AuthConfig
from weft.engine.oauth import TokenError, TokenKey
from weft.engine.requests import BuiltRequest
from weft.expressions import ABSENT, CompiledValue, EvalContext, ExpressionError, compile_value
from weft.openapi.security import (
    SchemeType,
    SecurityScheme,
    requirements,
    security_schemes,
)
from weft.openapi.serialize import serialize_query

if TYPE_CHECKING:
    from weft.document import LoadedDocument
    from weft.document import model as m
    from weft.engine.plan import StepPlan
    from weft.secrets import SecretSet

EXTENSION = "x-weft-auth"


class AuthProblem(Exception):
    """A step's credentials are missing or could not be obtained (``scheme``: source.scheme)."""

    def __init__(self, scheme: str | None, detail: str) -> None:
        super().__init__(detail)
        self.scheme = scheme
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SchemeUse:
    """A scheme a security requirement names: its definition (``None`` when the source does
    not define it) and the scopes asked for."""

    source: str
    name: str
    scheme: SecurityScheme | None
    scopes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.source}.{self.name}"


@dataclass(frozen=True, slots=True)
class StepSecurity:
    """A step's security alternatives (the non-empty requirements, in order) and whether it may
    go without credentials (``{}`` is one of them)."""

    alternatives: tuple[tuple[SchemeUse, ...], ...] = ()
    optional: bool = True

    @property
    def needed(self) -> bool:
        return bool(self.alternatives)


NO_SECURITY = StepSecurity()


def step_security(sp: StepPlan, loaded: LoadedDocument) -> StepSecurity:
    """The security of an operation step, from its operation (else its description)."""
    op = sp.operation
    if op is None:
        return NO_SECURITY
    source = loaded.sources.get(op.source)
    description = source.openapi if source is not None else None
    if description is None:
        return NO_SECURITY
    alternatives = requirements(op, description)
    if not alternatives:
        return NO_SECURITY
    schemes = security_schemes(description)
    options: list[tuple[SchemeUse, ...]] = []
    optional = False
    for req in alternatives:
        if req.empty:
            optional = True
            continue
        options.append(
            tuple(
                SchemeUse(op.source, name, schemes.get(name), scopes)
                for name, scopes in req.schemes
            )
        )
    return StepSecurity(tuple(options), optional)


def set_by_step(scheme: SecurityScheme, built: BuiltRequest) -> bool:
    """Whether the step's own parameters already carry this scheme's credential."""
    if scheme.type == SchemeType.API_KEY:
        name = scheme.param_name or ""
        if scheme.location == "query":
            return name in built.query
        if scheme.location == "cookie":
            cookie = built.headers.get("cookie", "")
            return any(part.strip().partition("=")[0] == name for part in cookie.split(";"))
        return name.lower() in built.headers
    return "authorization" in built.headers


def sets_parameter(scheme: SecurityScheme, sp: StepPlan) -> bool:
    """Whether the step declares a parameter that carries this scheme's credential."""
    for p in sp.params:
        if scheme.type == SchemeType.API_KEY:
            name = scheme.param_name or ""
            if p.location == scheme.location and (
                p.name == name or (p.location == "header" and p.lower == name.lower())
            ):
                return True
        elif p.location == "header" and p.lower == "authorization":
            return True
    return False


# per process, by identity (the object kept with its entry, so an id is never another's): each
# step plan's security and each workflow's compiled x-weft-auth; runs only read them
_SECURITY: dict[int, tuple[StepPlan, LoadedDocument, StepSecurity]] = {}
_BINDINGS: dict[int, tuple[m.Workflow, dict[str, CompiledValue]]] = {}


class WorkflowBindings:
    """The compiled ``x-weft-auth`` of each workflow: ``{key: expression}``."""

    def of(self, workflow: m.Workflow) -> dict[str, CompiledValue]:
        """The workflow's bindings, compiled once per process (they only depend on it)."""
        hit = _BINDINGS.get(id(workflow))
        if hit is not None and hit[0] is workflow:
            return hit[1]
        compiled = compile_bindings(workflow)
        if len(_BINDINGS) > 256:
            _BINDINGS.clear()
        _BINDINGS[id(workflow)] = (workflow, compiled)
        return compiled

    def value(self, workflow: m.Workflow, use: SchemeUse, ctx: EvalContext) -> str | None:
        bindings = self.of(workflow)
        expr = bindings.get(use.key) or bindings.get(use.name)
        if expr is None:
            return None
        value = expr.evaluate(ctx)
        if value is ABSENT or value is None or isinstance(value, bool) or value == "":
            return None
        return str(value) if isinstance(value, str | int | float) else None


def compile_bindings(workflow: m.Workflow) -> dict[str, CompiledValue]:
    """``x-weft-auth`` of a workflow, compiled (a malformed one binds nothing; ``weft lint``
    is where documents are judged)."""
    raw = workflow.extensions.get(EXTENSION)
    out: dict[str, CompiledValue] = {}
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            try:
                out[str(key)] = compile_value(value)
            except ExpressionError:
                continue
    return out


@dataclass(slots=True)
class Authorized:
    """A request with its credentials added, and the OAuth2 tokens it carries (a 401 answer
    to them fetches new ones once)."""

    built: BuiltRequest
    tokens: list[tuple[TokenKey, str]] = field(default_factory=list)


class RunAuth:
    """The credentials of one run's steps (see the module docstring)."""

    __slots__ = ("_applied", "bindings", "config", "secrets", "transport")

    def __init__(self, config: AuthConfig, secrets: SecretSet, transport: Transport) -> None:
        self.config = config
        self.secrets = secrets
        self.transport = transport
        self.bindings = WorkflowBindings()
        self._applied: dict[int, tuple[BuiltRequest, tuple[str, ...], Authorized]] = {}
        for value in config.values():
            learn(secrets, value)

    def security(self, sp: StepPlan, loaded: LoadedDocument) -> StepSecurity:
        """The step's security, worked out once per process (it only depends on the step plan
        and its document, which runs share)."""
        hit = _SECURITY.get(id(sp))
        if hit is not None and hit[0] is sp and hit[1] is loaded:
            return hit[2]
        found = step_security(sp, loaded)
        if len(_SECURITY) > 1024:
            _SECURITY.clear()
        _SECURITY[id(sp)] = (sp, loaded, found)
        return found

    def credential(self, use: SchemeUse, workflow: m.Workflow, ctx: EvalContext) -> str | None:
        found = self.config.lookup(use.source, use.name, env=False)
        if found is not None:
            return found[0]
        bound = self.bindings.value(workflow, use, ctx)
        if bound is not None:
            return bound
        found = self.config.lookup(use.source, use.name)
        return found[0] if found is not None else None

    async def apply(
        self,
        sp: StepPlan,
        loaded: LoadedDocument,
        workflow: m.Workflow,
        ctx: EvalContext,
        built: BuiltRequest,
        base: str,
        *,
        fresh: bool = False,
    ) -> Authorized:
        """``built`` with the credentials of the step's first satisfied alternative (raises
        :class:`AuthProblem` when none is and ``{}`` is not an alternative). ``fresh``: the
        last tokens were refused; fetch new ones."""
        security = self.security(sp, loaded)
        if not security.needed:
            return Authorized(built)
        chosen: list[tuple[SchemeUse, str]] | None = None
        for alternative in security.alternatives:
            picked: list[tuple[SchemeUse, str]] = []
            for use in alternative:
                scheme = use.scheme
                if scheme is None or not scheme.supported:
                    break
                if set_by_step(scheme, built):
                    continue
                value = self.credential(use, workflow, ctx)
                if value is None:
                    break
                picked.append((use, value))
            else:
                chosen = picked
                break
        if chosen is None:
            if security.optional:
                return Authorized(built)
            first = security.alternatives[0]
            raise AuthProblem(
                first[0].key,
                "no credential for "
                + " and ".join(f"{u.key} ({_label(u)})" for u in first)
                + f" (see `weft auth list`; e.g. set {_env_hint(first[0])})",
            )
        if not chosen:
            return Authorized(built)
        key = tuple(value for _, value in chosen)
        hit = self._applied.get(id(sp))
        if not fresh and hit is not None and hit[0] is built and hit[1] == key:
            cached = hit[2]
            if not cached.tokens or all(
                self.config.tokens.current(k) == v for k, v in cached.tokens
            ):
                return cached
        result = await self._add(chosen, built, base)
        self._applied[id(sp)] = (built, key, result)
        return result

    async def refreshed(
        self,
        sp: StepPlan,
        loaded: LoadedDocument,
        workflow: m.Workflow,
        ctx: EvalContext,
        built: BuiltRequest,
        base: str,
        refused: Authorized,
    ) -> Authorized:
        """After a 401 answer to ``refused``'s tokens: the request with new tokens."""
        for key, value in refused.tokens:
            self.config.tokens.invalidate(key, value)
        return await self.apply(sp, loaded, workflow, ctx, built, base, fresh=True)

    async def _add(
        self, chosen: list[tuple[SchemeUse, str]], built: BuiltRequest, base: str
    ) -> Authorized:
        request = built.request
        headers = list(request.headers)
        view = dict(built.headers)
        url = request.url
        cookies: list[str] = []
        tokens: list[tuple[TokenKey, str]] = []
        secrets = self.secrets
        for use, value in chosen:
            scheme = use.scheme
            assert scheme is not None
            learn(secrets, value)
            kind = scheme.type
            if kind == SchemeType.API_KEY:
                name = scheme.param_name or ""
                if scheme.location == "query":
                    pair = serialize_query(name, value)[0]
                    secrets.add(pair.partition("=")[2])
                    url += ("&" if "?" in url else "?") + pair
                elif scheme.location == "cookie":
                    cookies.append(f"{name}={value}")
                else:
                    headers.append((name, value))
                    view[name.lower()] = value
                continue
            if kind == SchemeType.MUTUAL_TLS:
                continue  # the client certificate is the transport's (--cert)
            header = await self._authorization(use, scheme, value, base, tokens)
            secrets.add(header)
            headers.append(("Authorization", header))
            view["authorization"] = header
        if cookies:
            existing = view.get("cookie")
            cookie = "; ".join([existing, *cookies] if existing else cookies)
            secrets.add(cookie)
            headers = [(k, v) for k, v in headers if k.lower() != "cookie"]
            headers.append(("Cookie", cookie))
            view["cookie"] = cookie
        sent = HttpRequest(request.method, url, headers, request.body, request.follow_redirects)
        return Authorized(replace(built, request=sent, headers=view), tokens)

    async def _authorization(
        self,
        use: SchemeUse,
        scheme: SecurityScheme,
        value: str,
        base: str,
        tokens: list[tuple[TokenKey, str]],
    ) -> str:
        kind = scheme.type
        if kind == SchemeType.HTTP:
            name = scheme.scheme or "bearer"
            if name == "basic":
                if ":" not in value:
                    raise AuthProblem(use.key, "a basic credential is written user:password")
                encoded = base64.b64encode(value.encode()).decode()
                learn(self.secrets, encoded)
                learn(self.secrets, value.partition(":")[2])
                return f"Basic {encoded}"
            if name == "bearer":
                return f"Bearer {value}"
            return f"{name.capitalize()} {value}"
        token_url = scheme.token_url
        basic = True
        if kind == SchemeType.OPENID_CONNECT:
            if not scheme.openid_url:
                raise AuthProblem(use.key, "the scheme has no openIdConnectUrl")
            try:
                token_url, methods = await self.config.tokens.discover(
                    self.transport, urljoin(base + "/", scheme.openid_url)
                )
            except TokenError as exc:
                raise AuthProblem(use.key, exc.detail) from None
            basic = not methods or "client_secret_basic" in methods
        if token_url is None:  # oauth2 without client credentials: the value is a token
            return f"Bearer {value}"
        client_id, sep, secret = value.partition(":")
        if not sep:
            raise AuthProblem(
                use.key, "an OAuth2 client credential is written client_id:client_secret"
            )
        learn(self.secrets, secret)
        key = TokenKey(urljoin(base + "/", token_url), client_id, use.scopes)
        try:
            token = await self.config.tokens.token(self.transport, key, secret, basic)
        except TokenError as exc:
            raise AuthProblem(use.key, exc.detail) from None
        learn(self.secrets, token)
        tokens.append((key, token))
        return f"Bearer {token}"


def learn(secrets: SecretSet, value: str) -> None:
    """``value`` and the forms it takes in a URL or a basic credential are secrets."""
    if not value:
        return
    for form in _learned_forms(value):
        secrets.add(form)


@functools.lru_cache(maxsize=256)
def _learned_forms(value: str) -> tuple[str, ...]:
    """``value``, its URL forms that differ from it, and its base64 (the same credential is
    learned again at every step that sends it)."""
    urls = [form for form in (quote(value, safe=""), quote_plus(value)) if form != value]
    return (value, *urls, base64.b64encode(value.encode()).decode())


def _label(use: SchemeUse) -> str:
    return use.scheme.label if use.scheme is not None else "not defined"


def _env_hint(use: SchemeUse) -> str:
    from weft.engine.credentials import env_name

    return env_name(use.source, use.name)


def bindings_of(workflow: m.Workflow) -> Mapping[str, Any]:
    """The raw ``x-weft-auth`` of a workflow (empty when it has none)."""
    raw = workflow.extensions.get(EXTENSION)
    return raw if isinstance(raw, Mapping) else {}


__all__ = [
    "EXTENSION",
    "AuthProblem",
    "Authorized",
    "RunAuth",
    "SchemeUse",
    "StepSecurity",
    "learn",
    "sets_parameter",
    "step_security",
]
