"""Build the typed model (:mod:`weft.document.model`) from a parsed tree with positions.

The builder is lenient: a field of the wrong type is dropped (structure validation reports
it), so a structurally broken document still yields a model that semantic checks can walk.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from weft.document import model as m
from weft.document.parse import Parsed
from weft.expressions.pointer import escape_token, resolve_pointer

N = TypeVar("N", bound=m.Node)


class FieldLocations(Mapping[str, m.Location]):
    """``field -> Location`` of one object's fields, looked up only when asked for."""

    __slots__ = ("_parsed", "_pointer")

    def __init__(self, parsed: Parsed, pointer: str) -> None:
        self._parsed = parsed
        self._pointer = pointer

    def _key(self, name: str) -> str:
        return f"{self._pointer}/{escape_token(name)}"

    def __getitem__(self, name: str) -> m.Location:
        found = self._parsed.positions.get(self._key(name))
        if found is None:
            raise KeyError(name)
        return m.Location(self._parsed.file, found[0], found[1])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self._parsed.positions

    def __iter__(self) -> Iterator[str]:
        node = resolve_pointer(self._parsed.data, self._pointer)
        return iter([k for k in node if k in self]) if isinstance(node, dict) else iter(())

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _s(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    return str(value)


class Builder:
    def __init__(self, parsed: Parsed, version_family: str) -> None:
        self.parsed = parsed
        self.v11 = version_family == "1.1"

    # -- helpers -----------------------------------------------------------------------------
    def node(self, cls: type[N], raw: dict[str, Any], pointer: str, /, **fields: Any) -> N:
        obj = cls(**fields)
        obj.loc = self.parsed.loc(pointer)
        obj.pointer = pointer
        obj.extensions = {k: v for k, v in raw.items() if isinstance(k, str) and k.startswith("x-")}
        obj.field_locs = FieldLocations(self.parsed, pointer)
        return obj

    def items(self, raw: Any, pointer: str) -> list[tuple[dict[str, Any], str]]:
        if not isinstance(raw, list):
            return []
        return [(x, f"{pointer}/{i}") for i, x in enumerate(raw) if isinstance(x, dict)]

    def strings(self, raw: Any) -> list[str]:
        return [x for x in raw if isinstance(x, str)] if isinstance(raw, list) else []

    # -- objects -----------------------------------------------------------------------------
    def document(self, raw: dict[str, Any]) -> m.ArazzoDocument:
        info_raw = raw.get("info") if isinstance(raw.get("info"), dict) else {}
        assert isinstance(info_raw, dict)
        info = self.node(
            m.Info,
            info_raw,
            "/info",
            title=_s(info_raw.get("title")) or "",
            version=_s(info_raw.get("version")) or "",
            summary=_s(info_raw.get("summary")),
            description=_s(info_raw.get("description")),
        )
        sources = [
            self.node(
                m.SourceDescription,
                s,
                p,
                name=_s(s.get("name")) or "",
                url=_s(s.get("url")) or "",
                type=_s(s.get("type")),
            )
            for s, p in self.items(raw.get("sourceDescriptions"), "/sourceDescriptions")
        ]
        workflows = [self.workflow(w, p) for w, p in self.items(raw.get("workflows"), "/workflows")]
        comp_raw = raw.get("components")
        components = self.components(comp_raw) if isinstance(comp_raw, dict) else m.Components()
        return self.node(
            m.ArazzoDocument,
            raw,
            "",
            arazzo=_s(raw.get("arazzo")) or "",
            info=info,
            source_descriptions=sources,
            workflows=workflows,
            components=components,
            self_uri=_s(raw.get("$self")),
            raw=raw,
        )

    def components(self, raw: dict[str, Any]) -> m.Components:
        def mapping(key: str) -> dict[str, Any]:
            value = raw.get(key)
            return value if isinstance(value, dict) else {}

        base = "/components"
        params = {
            k: self.parameter(v, f"{base}/parameters/{escape_token(k)}")
            for k, v in mapping("parameters").items()
            if isinstance(v, dict)
        }
        success = {
            k: self.success_action(v, f"{base}/successActions/{escape_token(k)}")
            for k, v in mapping("successActions").items()
            if isinstance(v, dict)
        }
        failure = {
            k: self.failure_action(v, f"{base}/failureActions/{escape_token(k)}")
            for k, v in mapping("failureActions").items()
            if isinstance(v, dict)
        }
        known = {"inputs", "parameters", "successActions", "failureActions"}
        other = {k: v for k, v in raw.items() if k not in known and not k.startswith("x-")}
        comp = self.node(
            m.Components,
            raw,
            base,
            inputs=dict(mapping("inputs")),
            parameters=params,
            success_actions=success,
            failure_actions=failure,
            other=other,
        )
        return comp

    def workflow(self, raw: dict[str, Any], p: str) -> m.Workflow:
        return self.node(
            m.Workflow,
            raw,
            p,
            workflow_id=_s(raw.get("workflowId")) or "",
            summary=_s(raw.get("summary")),
            description=_s(raw.get("description")),
            inputs=raw.get("inputs"),
            depends_on=self.strings(raw.get("dependsOn")),
            steps=[self.step(s, sp) for s, sp in self.items(raw.get("steps"), f"{p}/steps")],
            success_actions=self.actions(raw.get("successActions"), f"{p}/successActions", True),
            failure_actions=self.actions(raw.get("failureActions"), f"{p}/failureActions", False),
            outputs=self.outputs(raw.get("outputs"), f"{p}/outputs"),
            parameters=self.parameters(raw.get("parameters"), f"{p}/parameters"),
        )

    def step(self, raw: dict[str, Any], p: str) -> m.Step:
        body = raw.get("requestBody")
        timeout = raw.get("timeout")
        on_success = raw.get("onSuccess")
        on_failure = raw.get("onFailure")
        return self.node(
            m.Step,
            raw,
            p,
            step_id=_s(raw.get("stepId")) or "",
            description=_s(raw.get("description")),
            operation_id=_s(raw.get("operationId")),
            operation_path=_s(raw.get("operationPath")),
            workflow_id=_s(raw.get("workflowId")),
            channel_path=_s(raw.get("channelPath")),
            action=_s(raw.get("action")),
            correlation_id=raw.get("correlationId"),
            timeout=timeout if isinstance(timeout, int) and not isinstance(timeout, bool) else None,
            depends_on=self.strings(raw.get("dependsOn")),
            parameters=self.parameters(raw.get("parameters"), f"{p}/parameters"),
            request_body=self.request_body(body, f"{p}/requestBody")
            if isinstance(body, dict)
            else None,
            success_criteria=self.criteria(raw.get("successCriteria"), f"{p}/successCriteria"),
            on_success=self.actions(on_success, f"{p}/onSuccess", True)
            if isinstance(on_success, list)
            else None,
            on_failure=self.actions(on_failure, f"{p}/onFailure", False)
            if isinstance(on_failure, list)
            else None,
            outputs=self.outputs(raw.get("outputs"), f"{p}/outputs"),
        )

    def reusable(self, raw: dict[str, Any], p: str) -> m.ReusableRef:
        return self.node(
            m.ReusableRef,
            raw,
            p,
            reference=_s(raw.get("reference")) or "",
            value=raw.get("value"),
            has_value="value" in raw,
        )

    def parameters(self, raw: Any, p: str) -> list[m.Parameter | m.ReusableRef]:
        out: list[m.Parameter | m.ReusableRef] = []
        for item, ip in self.items(raw, p):
            out.append(self.reusable(item, ip) if "reference" in item else self.parameter(item, ip))
        return out

    def parameter(self, raw: dict[str, Any], p: str) -> m.Parameter:
        return self.node(
            m.Parameter,
            raw,
            p,
            name=_s(raw.get("name")) or "",
            in_=_s(raw.get("in")),
            value=self.value(raw.get("value"), f"{p}/value"),
        )

    def value(self, raw: Any, p: str) -> Any:
        """A constant/expression, or (1.1) a Selector Object."""
        if self.v11 and isinstance(raw, dict) and "selector" in raw and "context" in raw:
            return self.selector(raw, p)
        return raw

    def selector(self, raw: dict[str, Any], p: str) -> m.Selector:
        return self.node(
            m.Selector,
            raw,
            p,
            context=_s(raw.get("context")) or "",
            selector=_s(raw.get("selector")) or "",
            type=self.expr_type(raw.get("type"), f"{p}/type") or "jsonpointer",
        )

    def expr_type(self, raw: Any, p: str) -> str | m.ExpressionType | None:
        if isinstance(raw, dict):
            return self.node(
                m.ExpressionType,
                raw,
                p,
                type=_s(raw.get("type")) or "",
                version=_s(raw.get("version")) or "",
            )
        return _s(raw)

    def outputs(self, raw: Any, p: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            return {}
        return {k: self.value(v, f"{p}/{escape_token(k)}") for k, v in raw.items()}

    def request_body(self, raw: dict[str, Any], p: str) -> m.RequestBody:
        replacements = [
            self.node(
                m.PayloadReplacement,
                r,
                rp,
                target=_s(r.get("target")) or "",
                value=self.value(r.get("value"), f"{rp}/value"),
                target_selector_type=self.expr_type(
                    r.get("targetSelectorType"), f"{rp}/targetSelectorType"
                ),
            )
            for r, rp in self.items(raw.get("replacements"), f"{p}/replacements")
        ]
        return self.node(
            m.RequestBody,
            raw,
            p,
            content_type=_s(raw.get("contentType")),
            payload=raw.get("payload"),
            has_payload="payload" in raw,
            replacements=replacements,
        )

    def criteria(self, raw: Any, p: str) -> list[m.Criterion]:
        return [
            self.node(
                m.Criterion,
                c,
                cp,
                condition=_s(c.get("condition")) or "",
                context=_s(c.get("context")),
                type=self.expr_type(c.get("type"), f"{cp}/type"),
            )
            for c, cp in self.items(raw, p)
        ]

    def actions(self, raw: Any, p: str, success: bool) -> list[Any]:
        out: list[Any] = []
        for item, ip in self.items(raw, p):
            if "reference" in item:
                out.append(self.reusable(item, ip))
            elif success:
                out.append(self.success_action(item, ip))
            else:
                out.append(self.failure_action(item, ip))
        return out

    def _action_fields(self, raw: dict[str, Any], p: str) -> dict[str, Any]:
        """The fields success and failure actions share."""
        return {
            "name": _s(raw.get("name")) or "",
            "type": _s(raw.get("type")) or "",
            "workflow_id": _s(raw.get("workflowId")),
            "step_id": _s(raw.get("stepId")),
            "parameters": self.parameters(raw.get("parameters"), f"{p}/parameters"),
            "criteria": self.criteria(raw.get("criteria"), f"{p}/criteria"),
        }

    def success_action(self, raw: dict[str, Any], p: str) -> m.SuccessAction:
        return self.node(m.SuccessAction, raw, p, **self._action_fields(raw, p))

    def failure_action(self, raw: dict[str, Any], p: str) -> m.FailureAction:
        after = raw.get("retryAfter")
        limit = raw.get("retryLimit")
        seconds = (
            float(after) if isinstance(after, int | float) and not isinstance(after, bool) else None
        )
        return self.node(
            m.FailureAction,
            raw,
            p,
            retry_after=seconds,
            retry_limit=limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
            **self._action_fields(raw, p),
        )


def build_document(parsed: Parsed, version_family: str) -> m.ArazzoDocument:
    assert isinstance(parsed.data, dict)
    return Builder(parsed, version_family).document(parsed.data)
