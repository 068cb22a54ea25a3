"""Compiled workflows: every expression of a document parsed once, cached per document.

A :class:`WorkflowPlan` holds, for each step, its merged parameters (workflow-level ones the step
does not override), compiled values, criteria, merged success/failure actions, outputs, pacing
and idempotency settings. Loops evaluate these objects; they never re-parse text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from weft.document import model as m
from weft.engine.order import execution_order
from weft.engine.pacing import Pace, parse_pace
from weft.errors import DocumentError
from weft.expressions import (
    ABSENT,
    CompiledValue,
    EvalContext,
    ExpressionError,
    InvalidCondition,
    compile_criterion,
    compile_value,
    parse_expression,
)
from weft.expressions.pointer import resolve_pointer
from weft.openapi.bodies import is_json, media_type
from weft.openapi.serialize import (
    compile_path,
    default_explode,
    default_style,
    path_variables,
)
from weft.secrets import inputs_referenced, is_sensitive_header, password_inputs

if TYPE_CHECKING:
    from weft.document import LoadedDocument
    from weft.openapi.description import Operation

_WHOLE_TEMPLATE = re.compile(r"^\{(\$[^{}]+)\}$")
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})


class InvalidOutput(CompiledValue):
    """An output that is not a runtime expression: never has a value; ``error`` says why."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error

    def evaluate(self, ctx: EvalContext) -> Any:
        return ABSENT

    def why_absent(self, ctx: EvalContext) -> str:
        return self.error


@dataclass(slots=True)
class ParamPlan:
    name: str
    location: str | None
    value: Any  # CompiledValue
    style: str = "simple"
    explode: bool = False
    allow_reserved: bool = False
    content_type: str | None = None
    sensitive: bool = False  # a header or cookie whose values are secrets (precomputed)
    lower: str = ""  # the name lower-cased (header view key)

    def __post_init__(self) -> None:
        self.lower = self.name.lower()
        self.sensitive = is_sensitive_header(self.name)


@dataclass(slots=True)
class ReplacementPlan:
    target: str
    value: Any  # CompiledValue
    selector: str = "pointer"  # how ``target`` selects: pointer (RFC 6901), jsonpath, xpath


@dataclass(slots=True)
class BodyPlan:
    content_type: str | None
    payload: Any  # CompiledValue or None
    replacements: list[ReplacementPlan] = field(default_factory=list)


@dataclass(slots=True)
class ActionPlan:
    name: str
    type: str  # end | goto | retry
    step_id: str | None = None
    workflow_id: str | None = None
    retry_after: float | None = None
    retry_limit: int = 1
    criteria: list[Any] = field(default_factory=list)
    parameters: list[ParamPlan] = field(default_factory=list)
    backoff: Backoff | None = None  # ``x-weft-backoff``: the wait grows with each retry

    def delay(self, retry: int, jitter: float) -> float | None:
        """The wait before the ``retry``-th retry (1-based); ``jitter`` in [0, 1)."""
        backoff = self.backoff
        base = self.retry_after
        if backoff is None or base is None:
            return base
        return backoff.delay(base, retry, jitter)


@dataclass(frozen=True, slots=True)
class Backoff:
    """``x-weft-backoff`` on a retry action: the n-th retry waits ``retryAfter * factor**(n-1)``
    seconds, at most ``max``, each wait drawn between half and all of that (``jitter``) so runs
    hit by one outage do not all come back at once. A ``Retry-After`` header still wins."""

    factor: float = 2.0
    max: float = 30.0
    jitter: bool = True

    def delay(self, base: float, retry: int, jitter: float) -> float:
        wait = min(self.max, base * self.factor ** max(retry - 1, 0))
        return wait * (0.5 + 0.5 * jitter) if self.jitter else wait


def parse_backoff(value: Any, where: str) -> Backoff | None:
    """``x-weft-backoff``: ``true``/``exponential`` (defaults) or ``{factor, max, jitter}``."""
    if value is None or value is False:
        return None
    if value is True or value == "exponential":
        return Backoff()
    if isinstance(value, Mapping):
        try:
            factor = float(value.get("factor", 2.0))
            cap = float(value.get("max", 30.0))
        except (TypeError, ValueError):
            factor = cap = -1.0
        if factor >= 1.0 and cap > 0 and math.isfinite(factor) and math.isfinite(cap):
            return Backoff(factor, cap, bool(value.get("jitter", True)))
    raise DocumentError(
        f"x-weft-backoff {value!r} is not a backoff",
        where=where,
        hint="x-weft-backoff: exponential, or {factor: 2, max: 30, jitter: true}",
    )


@dataclass(slots=True)
class StepPlan:
    step: m.Step
    index: int
    kind: str  # "operation" | "workflow"
    operation: Operation | None = None
    workflow_ref: str | None = None
    params: list[ParamPlan] = field(default_factory=list)
    body: BodyPlan | None = None
    criteria: list[Any] = field(default_factory=list)
    on_success: list[ActionPlan] = field(default_factory=list)
    on_failure: list[ActionPlan] = field(default_factory=list)
    outputs: list[tuple[str, Any]] = field(default_factory=list)
    pace: Pace | None = None
    idempotency_field: str | None = None
    depends_on: list[str] = field(default_factory=list)
    timeout: float | None = None
    follow_redirects: bool = True
    # precomputed for the hot path (see ``__post_init__``)
    key: str = ""  # "<workflowId>/<stepId>": the recorder's step key
    workflow_id: str = ""
    step_id: str = ""
    path_parts: tuple[str, ...] = ()  # the operation path, see ``compile_path``
    path_vars: tuple[str, ...] = ()  # its {variables}, as ``path_variables``
    idempotent: bool = False  # the operation's method is idempotent (resend-safe by itself)

    def __post_init__(self) -> None:
        self.step_id = self.step.step_id
        self.key = f"{self.workflow_id}/{self.step_id}"
        op = self.operation
        if op is not None:
            self.path_parts = compile_path(op.path)
            self.path_vars = tuple(path_variables(op.path))
            self.idempotent = op.method.upper() in IDEMPOTENT_METHODS


@dataclass(slots=True)
class WorkflowPlan:
    loaded: LoadedDocument
    workflow: m.Workflow
    steps: list[StepPlan]
    index: dict[str, int]
    outputs: list[tuple[str, Any]]
    secret_inputs: set[str]
    strict: bool
    validator: Any = None  # jsonschema validator or None
    defaults: dict[str, Any] = field(default_factory=dict)
    fast_check: Any = None  # fastcheck.FastCheck for a simple inputs schema, or None
    inputs_schema: Any = None  # the inputs schema with a top-level local $ref resolved

    def input_schema(self, name: str) -> Any:
        """The schema of input ``name`` (a local ``$ref`` resolved), or None."""
        schema = self.inputs_schema
        props = schema.get("properties") if isinstance(schema, Mapping) else None
        sub = props.get(name) if isinstance(props, Mapping) else None
        return local_ref(self.loaded.document.raw, sub)

    @property
    def workflow_id(self) -> str:
        return self.workflow.workflow_id


_CACHE: dict[tuple[int, str, bool], tuple[Any, WorkflowPlan]] = {}
_CACHE_MAX = 128


def plan_for(loaded: LoadedDocument, workflow: m.Workflow, *, strict: bool = False) -> WorkflowPlan:
    """The compiled plan of ``workflow`` in ``loaded`` (compiled once, then cached)."""
    key = (id(loaded), workflow.workflow_id, strict)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is loaded:
        return hit[1]
    plan = _Compiler(loaded, strict).workflow(workflow)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (loaded, plan)
    return plan


class _Compiler:
    def __init__(self, loaded: LoadedDocument, strict: bool) -> None:
        self.loaded = loaded
        self.doc: m.ArazzoDocument = loaded.document
        self.strict = strict

    def value(self, raw: Any) -> Any:
        try:
            return compile_value(raw, strict=self.strict)
        except ExpressionError as exc:  # a malformed Selector Object
            loc = getattr(raw, "loc", None)
            raise DocumentError(
                f"invalid Selector Object: {exc}",
                where=str(loc) if loc is not None else None,
                hint="context is a runtime expression; selector matches its type",
            ) from exc

    def output(self, raw: Any) -> Any:
        """An output value; text that starts with ``$`` but is no expression stays an error."""
        compiled = self.value(raw)
        if isinstance(raw, str) and raw.startswith("$") and compiled.is_constant:
            try:
                parse_expression(raw)
            except ExpressionError as exc:
                return InvalidOutput(f"{raw}: not a runtime expression ({exc})")
        return compiled

    def criterion(self, c: m.Criterion) -> Any:
        """The compiled criterion; one whose condition cannot be compiled always fails at run
        time (Arazzo 1.1 "Evaluation Errors"), saying why."""
        try:
            return compile_criterion(
                c.condition, kind=c.kind, version=c.version, context=c.context, strict=self.strict
            )
        except ExpressionError as exc:
            return InvalidCondition(str(c.condition), c.kind or "simple", exc)

    # -- reusable objects ---------------------------------------------------------------------
    def _component(self, ref: m.ReusableRef, kind: str) -> Any:
        parts = ref.reference.split(".")
        table: Mapping[str, Any] = getattr(self.doc.components, kind)
        name = parts[-1]
        if len(parts) != 3 or parts[0] != "$components" or name not in table:
            raise DocumentError(
                f"reference {ref.reference!r} does not name a component",
                where=str(ref.loc),
                hint=f"define it under components.{parts[1] if len(parts) > 1 else kind}",
            )
        return table[name]

    def parameter(self, p: m.Parameter | m.ReusableRef) -> m.Parameter:
        if isinstance(p, m.ReusableRef):
            base: m.Parameter = self._component(p, "parameters")
            if p.has_value:
                return m.Parameter(name=base.name, in_=base.in_, value=p.value, loc=p.loc)
            return base
        return p

    def action(self, a: Any, success: bool) -> Any:
        if isinstance(a, m.ReusableRef):
            return self._component(a, "success_actions" if success else "failure_actions")
        return a

    # -- workflow -----------------------------------------------------------------------------
    def workflow(self, wf: m.Workflow) -> WorkflowPlan:
        wf_params = [self.parameter(p) for p in wf.parameters]
        wf_success = [self.action(a, True) for a in wf.success_actions]
        wf_failure = [self.action(a, False) for a in wf.failure_actions]
        steps = [
            self.step(wf.steps[i], i, wf_params, wf_success, wf_failure, wf.workflow_id)
            for i in execution_order(wf.steps)  # the array order unless steps use dependsOn
        ]
        inputs_schema = local_ref(self.doc.raw, wf.inputs)
        secret_inputs = password_inputs(inputs_schema)
        # what x-weft-auth binds to a security scheme is a credential
        secret_inputs |= inputs_referenced(wf.extensions.get("x-weft-auth"))
        for s in [*wf.steps]:
            for p in [*wf_params, *(self.parameter(x) for x in s.parameters)]:
                if p.in_ in ("header", "cookie", None) and is_sensitive_header(p.name):
                    secret_inputs |= inputs_referenced(p.value)
                if p.in_ == "cookie":
                    secret_inputs |= inputs_referenced(p.value)
        validator, defaults, fast_check = _input_validator(self.doc, wf, inputs_schema)
        return WorkflowPlan(
            loaded=self.loaded,
            workflow=wf,
            steps=steps,
            index={s.step_id: i for i, s in enumerate(steps)},
            outputs=[(k, self.output(v)) for k, v in wf.outputs.items()],
            secret_inputs=secret_inputs,
            strict=self.strict,
            validator=validator,
            defaults=defaults,
            fast_check=fast_check,
            inputs_schema=inputs_schema,
        )

    def step(
        self,
        s: m.Step,
        index: int,
        wf_params: list[m.Parameter],
        wf_success: list[Any],
        wf_failure: list[Any],
        workflow_id: str = "",
    ) -> StepPlan:
        operation = None
        kind = "operation"
        if s.workflow_id:
            kind = "workflow"
        elif s.operation_id or s.operation_path:
            operation = self.loaded.resolve_operation(s)
        else:
            raise DocumentError(
                f"step {s.step_id!r} has neither operationId, operationPath nor workflowId",
                where=str(s.loc),
                why="weft runs OpenAPI operations and workflows (not AsyncAPI channels)",
            )
        own = [self.parameter(p) for p in s.parameters]
        own_keys = {(p.name, p.in_) for p in own}
        own_names = {p.name for p in own}
        merged = [
            p
            for p in wf_params
            if (p.name, p.in_) not in own_keys and not (p.in_ is None and p.name in own_names)
        ] + own
        if kind == "workflow":
            params = [ParamPlan(p.name, None, self.value(p.value)) for p in merged if p.in_ is None]
        else:
            assert operation is not None
            params = [self.op_param(p, operation) for p in merged]
        body = self.body(s.request_body, operation) if kind == "operation" else None
        pace = None
        if "x-weft-pace" in s.extensions:
            pace = parse_pace(s.extensions["x-weft-pace"], where=f"{s.loc} x-weft-pace")
        # the body field that is an idempotency key: named by the step, else by the operation
        idem = s.extensions.get("x-weft-idempotency")
        if idem is None and operation is not None:
            idem = operation.raw.get("x-weft-idempotency")
        timeout = s.timeout / 1000.0 if s.timeout else None
        return StepPlan(
            step=s,
            index=index,
            kind=kind,
            operation=operation,
            workflow_ref=s.workflow_id,
            params=params,
            body=body,
            criteria=[self.criterion(c) for c in s.success_criteria],
            on_success=self.actions(s.on_success, wf_success, True),
            on_failure=self.actions(s.on_failure, wf_failure, False),
            outputs=[(k, self.output(v)) for k, v in s.outputs.items()],
            pace=pace,
            idempotency_field=str(idem) if isinstance(idem, str) else None,
            depends_on=list(s.depends_on),
            timeout=timeout,
            follow_redirects=not _declares_redirect(operation),
            workflow_id=workflow_id,
        )

    def op_param(self, p: m.Parameter, op: Operation) -> ParamPlan:
        declared = None
        for d in op.parameters:
            if d.name == p.name and (p.in_ is None or d.in_ == p.in_):
                declared = d
                break
            if p.in_ == "header" and d.in_ == "header" and d.name.lower() == p.name.lower():
                declared = d
                break
        location = p.in_ or (declared.in_ if declared is not None else "query")
        style = (declared.style if declared is not None else None) or default_style(location)
        explode = declared.explode if declared is not None else None
        if explode is None:
            explode = default_explode(style)
        content_type = None
        if declared is not None and declared.content:
            content_type = next(iter(declared.content), None)
        allow_reserved = bool(getattr(declared, "allow_reserved", False))
        return ParamPlan(
            p.name,
            location,
            self.value(p.value),
            style=style,
            explode=explode,
            allow_reserved=allow_reserved,
            content_type=content_type,
        )

    def body(self, rb: m.RequestBody | None, op: Operation | None) -> BodyPlan | None:
        declared_ct = None
        if op is not None and isinstance(op.request_body, Mapping):
            content = op.request_body.get("content")
            if isinstance(content, Mapping) and content:
                declared_ct = next(iter(content))
        if rb is None:
            return None
        ct = rb.content_type or declared_ct
        payload = None
        if rb.has_payload:
            raw = rb.payload
            if isinstance(raw, str) and (not ct or is_json(media_type(ct))):
                raw = _json_template(raw)
            payload = self.value(raw)
        xml = "xml" in media_type(ct)
        reps = [
            ReplacementPlan(r.target, self.value(r.value), _target_selector(r, xml))
            for r in rb.replacements
        ]
        return BodyPlan(ct, payload, reps)

    def actions(
        self, own: list[Any] | None, inherited: list[Any], success: bool
    ) -> list[ActionPlan]:
        resolved = [self.action(a, success) for a in (own or [])]
        names = {a.name for a in resolved}
        merged = resolved + [a for a in inherited if a.name not in names]
        return [self.action_plan(a) for a in merged]

    def action_plan(self, a: Any) -> ActionPlan:
        params = [self.parameter(p) for p in getattr(a, "parameters", [])]
        limit = getattr(a, "retry_limit", None)
        return ActionPlan(
            name=a.name,
            type=a.type,
            step_id=a.step_id,
            workflow_id=a.workflow_id,
            retry_after=getattr(a, "retry_after", None),
            retry_limit=1 if limit is None else int(limit),
            criteria=[self.criterion(c) for c in a.criteria],
            parameters=[ParamPlan(p.name, p.in_, self.value(p.value)) for p in params],
            backoff=parse_backoff(a.extensions.get("x-weft-backoff"), str(a.loc)),
        )


def _target_selector(r: m.PayloadReplacement, xml: bool) -> str:
    """How a replacement target selects: as ``targetSelectorType`` (1.1) says (``jsonpath``,
    ``xpath``, ``jsonpointer``), else an XPath in an XML payload (``/order/qty`` too) and a
    JSON Pointer otherwise."""
    kind = r.target_selector_type
    if isinstance(kind, m.ExpressionType):
        kind = kind.type
    if kind in ("jsonpath", "xpath"):
        return str(kind)
    if kind:
        return "pointer"
    return "xpath" if xml else "pointer"


def _declares_redirect(op: Operation | None) -> bool:
    """True when the operation documents a 3xx response: then a redirect is its answer."""
    responses = op.responses if op is not None else None
    if not isinstance(responses, Mapping):
        return False
    return any(str(code).upper().startswith("3") for code in responses)


def _json_template(text: str) -> Any:
    """A JSON payload written as a string: parse it so ``"{$expr}"`` leaves keep their type.

    Strings that are exactly one ``{$expression}`` become that expression (its value, not its
    text). A string that is not JSON is kept as a template.
    """
    import orjson

    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return _unwrap_templates(parsed)


def _unwrap_templates(value: Any) -> Any:
    if isinstance(value, str):
        match = _WHOLE_TEMPLATE.match(value)
        return match.group(1) if match else value
    if isinstance(value, dict):
        return {k: _unwrap_templates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_templates(v) for v in value]
    return value


def _input_validator(
    doc: m.ArazzoDocument, wf: m.Workflow, resolved: Any
) -> tuple[Any, dict[str, Any], Any]:
    schema = wf.inputs
    if schema is None or schema is True:
        return None, {}, None
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    base = "urn:weft:document"
    raw = doc.raw if isinstance(doc.raw, dict) else {}
    registry: Registry[Any] = Registry().with_resource(
        base, Resource.from_contents(raw, default_specification=DRAFT202012)
    )
    pointer = f"{wf.pointer}/inputs" if wf.pointer else None
    if pointer and resolve_pointer(raw, pointer) not in (ABSENT, None):
        root: Any = {"$ref": f"{base}#{pointer}"}
    else:
        root = schema
    validator = Draft202012Validator(root, registry=registry)
    defaults: dict[str, Any] = {}
    if isinstance(resolved, dict) and isinstance(resolved.get("properties"), dict):
        for name, sub in resolved["properties"].items():
            if isinstance(sub, dict) and "default" in sub:
                defaults[name] = sub["default"]
    from weft.engine.fastcheck import compile_fast_check

    return validator, defaults, compile_fast_check(resolved)


def local_ref(raw: Any, schema: Any) -> Any:
    """``schema``, or what its local ``$ref`` (``#/…`` inside the Arazzo document ``raw``)
    points at; None for a reference that points nowhere."""
    if isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if ref.startswith("#"):
            target = resolve_pointer(raw, ref[1:])
            return None if target is ABSENT else target
    return schema


__all__ = [
    "IDEMPOTENT_METHODS",
    "ActionPlan",
    "BodyPlan",
    "InvalidOutput",
    "ParamPlan",
    "StepPlan",
    "WorkflowPlan",
    "local_ref",
    "plan_for",
]
