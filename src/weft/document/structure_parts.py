"""Structural checks of the smaller Arazzo objects (parameters, actions, criteria, bodies)."""

from __future__ import annotations

import math
from typing import Any

from weft.document.structure_base import _EXPR_VERSIONS, _KEY, CheckerBase, _is_int, _is_num, _kind
from weft.expressions.pointer import escape_token


class Parts(CheckerBase):
    def param_or_ref(self, raw: Any, p: str, needs_in: bool) -> None:
        if isinstance(raw, dict) and "reference" in raw:
            self.reusable(raw, p)
        else:
            self.parameter(raw, p, needs_in)

    def reusable(self, raw: Any, p: str) -> None:
        if self.obj(raw, p, "a Reusable Object", {"reference", "value"}, ("reference",), ext=False):
            self.string(raw, "reference", p)

    def parameter(self, raw: Any, p: str, needs_in: bool) -> None:
        required = ("name", "in", "value") if needs_in else ("name", "value")
        if not self.obj(raw, p, "a Parameter", {"name", "in", "value"}, required):
            return
        self.string(raw, "name", p)
        places: tuple[str, ...] = ("path", "query", "header", "cookie")
        if self.v11:
            places += ("querystring", "channel")
        self.enum(raw, "in", p, places)
        if self.v11 and isinstance(raw.get("value"), dict):
            self.selector(raw["value"], f"{p}/value")

    def action_or_ref(self, raw: Any, p: str, success: bool) -> None:
        if isinstance(raw, dict) and "reference" in raw:
            self.reusable(raw, p)
        elif success:
            self.success_action(raw, p)
        else:
            self.failure_action(raw, p)

    def _action_common(self, raw: dict[str, Any], p: str) -> None:
        for k in ("name", "workflowId", "stepId"):
            self.string(raw, k, p)
        if self.v11:
            self.array(raw, "parameters", p, None)
            if "parameters" in raw and "workflowId" not in raw:
                self.add(
                    f"{p}/parameters",
                    "structure/action-parameters",
                    "action parameters are only allowed with a workflowId",
                )

    def _goto_target(self, raw: dict[str, Any], p: str) -> None:
        n = ("workflowId" in raw) + ("stepId" in raw)
        if n != 1:
            self.add(
                p,
                "structure/action-target",
                "a goto action needs exactly one of stepId, workflowId"
                + (" (it has both)" if n == 2 else ""),
            )

    def success_action(self, raw: Any, p: str, what: str = "a Success Action") -> None:
        allowed = {"name", "type", "workflowId", "stepId", "criteria"}
        if self.v11:
            allowed.add("parameters")
        if not self.obj(raw, p, what, allowed, ("name", "type")):
            return
        self._action_common(raw, p)
        self.enum(raw, "type", p, ("end", "goto"))
        if raw.get("type", "goto") == "goto":
            self._goto_target(raw, p)
        self.array(raw, "criteria", p, self.criterion, 1)

    def failure_action(self, raw: Any, p: str, what: str = "a Failure Action") -> None:
        allowed = {"name", "type", "workflowId", "stepId", "retryAfter", "retryLimit", "criteria"}
        if self.v11:
            allowed.add("parameters")
        if not self.obj(raw, p, what, allowed, ("name", "type")):
            return
        self._action_common(raw, p)
        self.enum(raw, "type", p, ("end", "goto", "retry"))
        if raw.get("type", "goto") == "goto" or (
            raw.get("type") == "retry" and "workflowId" in raw and "stepId" in raw
        ):
            self._goto_target(raw, p)
        wait = raw.get("retryAfter", 0)
        if not _is_num(wait) or not math.isfinite(wait) or wait < 0:  # .inf would wait forever
            self.add(
                f"{p}/retryAfter",
                "structure/type",
                "'retryAfter' must be a non-negative number of seconds",
            )
        if "retryLimit" in raw and (not _is_int(raw["retryLimit"]) or raw["retryLimit"] < 0):
            self.add(
                f"{p}/retryLimit", "structure/type", "'retryLimit' must be a non-negative integer"
            )
        self.array(raw, "criteria", p, self.criterion)

    def criterion(self, raw: Any, p: str) -> None:
        allowed = {"context", "condition", "type"}
        t = raw.get("type") if isinstance(raw, dict) else None
        if (
            not self.v11
            and t in ("jsonpath", "xpath")
            and isinstance(raw, dict)
            and ("version" in raw)
        ):
            allowed.add("version")  # the official 1.0 schema's flattened form
            if raw["version"] not in _EXPR_VERSIONS["1.0"][t]:
                self.add(
                    f"{p}/version",
                    "structure/enum",
                    f"version must be one of {sorted(_EXPR_VERSIONS['1.0'][t])}",
                )
        if not self.obj(raw, p, "a Criterion", allowed, ("condition",)):
            return
        self.string(raw, "context", p)
        self.string(raw, "condition", p)
        if "type" in raw:
            if isinstance(t, dict):
                kinds = (
                    ("jsonpath", "xpath") if not self.v11 else ("jsonpath", "xpath", "jsonpointer")
                )
                self.expression_type(t, f"{p}/type", kinds)
            else:
                self.enum(raw, "type", p, ("simple", "regex", "jsonpath", "xpath"))
            if "context" not in raw:
                self.add(
                    p,
                    "structure/criterion-context",
                    "a Criterion with a 'type' must also have a 'context'",
                    "add e.g. context: $response.body",
                )

    def expression_type(self, raw: Any, p: str, kinds: tuple[str, ...]) -> None:
        allowed = {"type", "version"}
        if not isinstance(raw, dict):
            self.add(p, "structure/type", "an Expression Type Object must be an object")
            return
        if not self.v11:  # 1.0: only type/version (+x-)
            self.obj(raw, p, "a Criterion Expression Type Object", allowed, ("type", "version"))
        else:
            for key in ("type", "version"):
                if key not in raw:
                    self.add(
                        p,
                        "structure/missing-field",
                        f"an Expression Type Object is missing required field {key!r}",
                    )
        self.enum(raw, "type", p, kinds)
        self.string(raw, "version", p)
        versions = _EXPR_VERSIONS[self.family].get(raw.get("type"))  # type: ignore[arg-type]
        if versions and "version" in raw and raw["version"] not in versions:
            self.add(
                f"{p}/version",
                "structure/enum",
                f"version for {raw.get('type')} must be one of {', '.join(sorted(versions))};"
                f" got {raw['version']!r}",
            )

    def selector_type(self, raw: Any, p: str) -> None:
        if isinstance(raw, dict):
            self.expression_type(raw, p, ("jsonpath", "xpath", "jsonpointer"))
        elif raw not in ("jsonpointer", "jsonpath", "xpath"):
            self.add(
                p,
                "structure/enum",
                f"selector type must be jsonpointer, jsonpath or xpath; got {raw!r}",
            )

    def selector(self, raw: Any, p: str) -> None:
        if not self.obj(
            raw,
            p,
            "a Selector Object",
            {"context", "selector", "type"},
            ("context", "selector", "type"),
        ):
            return
        self.string(raw, "context", p)
        self.string(raw, "selector", p)
        if "type" in raw:
            self.selector_type(raw["type"], f"{p}/type")

    def request_body(self, raw: Any, p: str) -> None:
        if not self.obj(raw, p, "a Request Body", {"contentType", "payload", "replacements"}):
            return
        self.string(raw, "contentType", p)
        self.array(raw, "replacements", p, self.replacement)

    def replacement(self, raw: Any, p: str) -> None:
        allowed = {"target", "value"} | ({"targetSelectorType"} if self.v11 else set())
        if not self.obj(raw, p, "a Payload Replacement", allowed, ("target", "value")):
            return
        self.string(raw, "target", p)
        if "targetSelectorType" in raw:
            self.selector_type(raw["targetSelectorType"], f"{p}/targetSelectorType")
        value = raw.get("value")
        if "value" in raw and not isinstance(value, str):
            if self.v11 and isinstance(value, dict):
                self.selector(value, f"{p}/value")
            else:
                kinds = "a string or a Selector Object" if self.v11 else "a string"
                self.add(
                    f"{p}/value", "structure/type", f"'value' must be {kinds}, not {_kind(value)}"
                )

    def components(self, raw: Any, p: str) -> None:
        kinds = {"inputs", "parameters", "successActions", "failureActions"}
        if not self.obj(raw, p, "the Components Object", kinds):
            return
        for kind in kinds:
            if kind not in raw:
                continue
            sub = raw[kind]
            kp = f"{p}/{kind}"
            if not isinstance(sub, dict):
                self.add(kp, "structure/type", f"{kind!r} must be an object, not {_kind(sub)}")
                continue
            for name, value in sub.items():
                vp = f"{kp}/{escape_token(str(name))}"
                if not _KEY.match(str(name)):
                    self.add(
                        vp,
                        "structure/pattern",
                        f"component name {name!r} must match ^[a-zA-Z0-9.\\-_]+$",
                    )
                if kind == "inputs":
                    self.schema(value, vp, 0)
                elif kind == "parameters":
                    self.parameter(value, vp, False)
                elif kind == "successActions":
                    self.success_action(value, vp)
                else:
                    self.failure_action(value, vp)
