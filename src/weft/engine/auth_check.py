"""Before a run sends anything: every step's security can be met (else one
:class:`MissingCredentialError`, exit 2, naming each scheme, its source, the operations that
need it and the option or variable to set), and every ``--auth`` key names a scheme. Also what
``weft auth list`` shows: each source's schemes and where their credentials are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from weft.engine.auth import SchemeUse, WorkflowBindings, sets_parameter, step_security
from weft.engine.credentials import AuthConfig, env_name
from weft.errors import UsageError, WeftError
from weft.expressions import ABSENT, EvalContext
from weft.openapi.security import SchemeType, SecurityScheme, requirements, security_schemes

if TYPE_CHECKING:
    from weft.document import LoadedDocument
    from weft.engine.plan import StepPlan, WorkflowPlan


class MissingCredentialError(UsageError):
    """Schemes the run needs and has no credential for (``missing``: ``source.scheme`` ->
    the operations that need it)."""

    def __init__(self, missing: Mapping[str, tuple[SchemeUse, list[str]]]) -> None:
        self.missing = {key: ops for key, (_, ops) in missing.items()}
        uses = [use for use, _ in missing.values()]
        lines = [
            f"{use.key} ({_label(use.scheme)}) needed by {', '.join(sorted(set(ops)))}"
            for use, ops in missing.values()
        ]
        fixes = [
            f"--auth {use.key}={use.scheme.credential_form if use.scheme else 'VALUE'} "
            f"or {env_name(use.source, use.name)}"
            for use in uses
            if use.scheme is not None and use.scheme.supported
        ]
        undefined = [use.key for use in uses if use.scheme is None]
        if len(uses) == 1:
            use = uses[0]
            what = (
                f"no credential for the security scheme {use.name!r} of source {use.source!r}"
                if use.scheme is not None
                else f"the security scheme {use.name!r} is not defined by source {use.source!r}"
            )
            why = lines[0]
        else:
            what = f"no credentials for {len(uses)} security schemes"
            why = "; ".join(lines)
        hint = "; ".join(fixes) if fixes else None
        if undefined:
            define = f"define {', '.join(undefined)} in the description's securitySchemes"
            hint = f"{hint}; {define}" if hint else define
        super().__init__(what, why=why, hint=(hint or "") + " (`weft auth list DOC` lists them)")


@dataclass(frozen=True, slots=True)
class SchemeInfo:
    """A scheme of a source, for ``weft auth list``: where its credential is read and which
    operations ask for it."""

    source: str
    scheme: SecurityScheme
    env: str
    option: str
    operations: tuple[str, ...]


def list_schemes(loaded: LoadedDocument) -> list[SchemeInfo]:
    """Every security scheme of the document's OpenAPI sources (nested Arazzo sources too)."""
    out: list[SchemeInfo] = []
    for doc in _documents(loaded):
        for source in doc.openapi_sources:
            description = source.openapi
            assert description is not None
            schemes = security_schemes(description)
            users: dict[str, list[str]] = {name: [] for name in schemes}
            for op in description.operations:
                for req in requirements(op, description):
                    for name in req.names:
                        label = op.operation_id or f"{op.method} {op.path}"
                        users.setdefault(name, []).append(label)
            for name, scheme in schemes.items():
                out.append(
                    SchemeInfo(
                        source.name,
                        scheme,
                        env_name(source.name, name),
                        f"--auth {source.name}.{name}={scheme.credential_form}",
                        tuple(dict.fromkeys(users.get(name, []))),
                    )
                )
    return out


def check_auth_keys(loaded: LoadedDocument, config: AuthConfig) -> None:
    """Every key given with ``--auth`` names a scheme of a source (else a usage error listing
    them); keys of an ``--auth-file`` may serve other documents and are not checked."""
    if not config.given:
        return
    known = {(info.source, info.scheme.name) for info in list_schemes(loaded)}
    names = {name for _, name in known}
    sources = {source for source, _ in known}
    for key in config.given:
        source, dot, name = key.partition(".")
        if dot and source in sources and (source, name) in known:
            continue
        if key in names:
            continue
        listed = ", ".join(sorted(f"{s}.{n}" for s, n in known)) or "none"
        raise UsageError(
            f"--auth {key}: no source description declares a security scheme {key!r}",
            why=f"the schemes are: {listed}",
            hint="`weft auth list DOC` lists each source's schemes",
        )


def check_credentials(
    plan: WorkflowPlan, config: AuthConfig, inputs: Mapping[str, Any] | None = None
) -> None:
    """Raise :class:`MissingCredentialError` when a step of ``plan`` (or of a workflow it
    calls) needs a scheme that no credential, step parameter or ``x-weft-auth`` binding
    meets. The run's own ``x-weft-auth`` is evaluated against ``inputs``; a called
    workflow's binding is taken as met (its inputs come later) and checked when its step runs."""
    bindings = _BINDINGS
    top_ctx = EvalContext(inputs=inputs) if inputs is not None else None
    bound = bindings.of(plan.workflow)
    present = (
        None
        if top_ctx is None
        else tuple(k for k, expr in bound.items() if _has_value(expr.evaluate(top_ctx)))
    )
    key = (id(plan), id(config), present)
    hit = _MET.get(key)
    if hit is not None and hit[0] is plan and hit[1] is config:
        return  # met before, with the same bindings given
    check_auth_keys(plan.loaded, config)
    missing: dict[str, tuple[SchemeUse, list[str]]] = {}
    for depth, wf_plan in _plans(plan):
        for sp in wf_plan.steps:
            if sp.operation is None:
                continue
            security = step_security(sp, wf_plan.loaded)
            if not security.needed or security.optional:
                continue
            met = False
            first_missing: list[SchemeUse] = []
            for index, alternative in enumerate(security.alternatives):
                lacking = [
                    use
                    for use in alternative
                    if not _available(use, sp, wf_plan, config, bindings, top_ctx, depth)
                ]
                if not lacking:
                    met = True
                    break
                if index == 0:
                    first_missing = lacking
            if met:
                continue
            label = sp.operation.operation_id or f"{sp.operation.method} {sp.operation.path}"
            for use in first_missing:
                missing.setdefault(use.key, (use, []))[1].append(label)
    if missing:
        raise MissingCredentialError(missing)
    if len(_MET) > 256:
        _MET.clear()
    _MET[key] = (plan, config)


_BINDINGS = WorkflowBindings()
_MET: dict[tuple[int, int, tuple[str, ...] | None], tuple[WorkflowPlan, AuthConfig]] = {}


def _has_value(value: Any) -> bool:
    return value is not ABSENT and value is not None and value != "" and value is not False


def _available(
    use: SchemeUse,
    sp: StepPlan,
    wf_plan: WorkflowPlan,
    config: AuthConfig,
    bindings: WorkflowBindings,
    top_ctx: EvalContext | None,
    depth: int,
) -> bool:
    scheme = use.scheme
    if scheme is None:
        return False
    if scheme.type == SchemeType.MUTUAL_TLS:
        return True
    if not scheme.supported:
        return False
    if sets_parameter(scheme, sp) or config.lookup(use.source, use.name) is not None:
        return True
    workflow = wf_plan.workflow
    bound = bindings.of(workflow)
    if use.key not in bound and use.name not in bound:
        return False
    if depth > 0 or top_ctx is None:
        return True  # the called workflow's inputs are not known yet
    return bindings.value(workflow, use, top_ctx) is not None


def _plans(plan: WorkflowPlan) -> Iterator[tuple[int, WorkflowPlan]]:
    """``plan`` and the plans of the workflows its steps call (each once), with their depth."""
    from weft.engine.plan import plan_for

    seen = {id(plan.workflow)}
    queue: list[tuple[int, WorkflowPlan]] = [(0, plan)]
    while queue:
        depth, current = queue.pop(0)
        yield depth, current
        for sp in current.steps:
            if sp.kind != "workflow" or not sp.workflow_ref:
                continue
            try:
                loaded, workflow = current.loaded.resolve_workflow(sp.workflow_ref)
                child = plan_for(loaded, workflow, strict=current.strict)
            except WeftError:
                continue  # the run reports it when the step runs
            if id(child.workflow) not in seen:
                seen.add(id(child.workflow))
                queue.append((depth + 1, child))


def _documents(loaded: LoadedDocument) -> Iterator[LoadedDocument]:
    seen: set[int] = set()
    stack = [loaded]
    while stack:
        doc = stack.pop()
        if id(doc) in seen:
            continue
        seen.add(id(doc))
        yield doc
        stack.extend(s.arazzo for s in doc.sources.values() if s.arazzo is not None)


def _label(scheme: SecurityScheme | None) -> str:
    return scheme.label if scheme is not None else "not defined"


__all__ = [
    "MissingCredentialError",
    "SchemeInfo",
    "check_auth_keys",
    "check_credentials",
    "list_schemes",
]
