"""Structural validation of Arazzo 1.0.x / 1.1.x documents, written from the specification.

weft's own checks (no JSON Schema engine at run time, so ``weft validate`` starts fast). They
follow the shape rules of each version: required and allowed fields (``x-`` extensions where
the specification permits them), field types, enumerations, patterns, list uniqueness and
minimum sizes, and the mutually exclusive step kinds. The test suite compares verdicts with
the official schemas on every published pass/fail document.

Deliberate differences from the official 1.0 schema, where it contradicts the 1.0.1 text:
a Criterion's ``type`` may be a Criterion Expression Type Object, and a ``retry`` failure
action needs neither ``retryAfter`` nor a ``stepId``/``workflowId``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from weft.document.structure_base import _DEPENDS, _KEY, _NAME, _VERSION, Problem, _is_int, _kind
from weft.document.structure_parts import Parts
from weft.expressions.pointer import escape_token


class Checker(Parts):
    # -- document ----------------------------------------------------------------------------
    def document(self, raw: Any) -> None:
        allowed = {"arazzo", "info", "sourceDescriptions", "workflows", "components"}
        if self.v11:
            allowed.add("$self")
        if not self.obj(
            raw,
            "",
            "an Arazzo document",
            allowed,
            ("arazzo", "info", "sourceDescriptions", "workflows"),
        ):
            return
        if "arazzo" in raw:
            self.string(raw, "arazzo", "", _VERSION[self.family])
        if self.v11:
            self.string(raw, "$self", "", re.compile(r"^[^#]*$"))
        if "info" in raw and self.obj(
            raw["info"],
            "/info",
            "the Info Object",
            {"title", "summary", "description", "version"},
            ("title", "version"),
        ):
            for k in ("title", "summary", "description", "version"):
                self.string(raw["info"], k, "/info")
        self.array(raw, "sourceDescriptions", "", self.source, 1)
        self.array(raw, "workflows", "", self.workflow, 1)
        if "components" in raw:
            self.components(raw["components"], "/components")

    def source(self, raw: Any, p: str) -> None:
        if self.obj(raw, p, "a Source Description", {"name", "url", "type"}, ("name", "url")):
            self.string(raw, "name", p, _NAME)
            self.string(raw, "url", p)
            kinds = ("arazzo", "openapi", "asyncapi") if self.v11 else ("arazzo", "openapi")
            self.enum(raw, "type", p, kinds)

    def workflow(self, raw: Any, p: str) -> None:
        allowed = {
            "workflowId",
            "summary",
            "description",
            "inputs",
            "dependsOn",
            "steps",
            "successActions",
            "failureActions",
            "outputs",
            "parameters",
        }
        if not self.obj(raw, p, "a Workflow", allowed, ("workflowId", "steps")):
            return
        for k in ("workflowId", "summary", "description"):
            self.string(raw, k, p)
        if "inputs" in raw:
            self.schema(raw["inputs"], f"{p}/inputs", 0)
        self.array(raw, "dependsOn", p, self.plain_string)
        self.array(raw, "steps", p, self.step, 1)
        self.array(raw, "successActions", p, lambda x, q: self.action_or_ref(x, q, True))
        self.array(raw, "failureActions", p, lambda x, q: self.action_or_ref(x, q, False))
        self.outputs(raw, p)
        self.array(raw, "parameters", p, lambda x, q: self.param_or_ref(x, q, False))

    def plain_string(self, v: Any, p: str) -> None:
        if not isinstance(v, str):
            self.add(p, "structure/type", f"must be a string, not {_kind(v)}")

    def outputs(self, raw: dict[str, Any], p: str) -> None:
        if "outputs" not in raw:
            return
        outs = raw["outputs"]
        op = f"{p}/outputs"
        if not isinstance(outs, dict):
            self.add(op, "structure/type", f"'outputs' must be an object, not {_kind(outs)}")
            return
        for key, value in outs.items():
            if not _KEY.match(str(key)):
                continue  # names are checked by validation (arazzo/output-name)
            vp = f"{op}/{escape_token(str(key))}"
            if isinstance(value, str):
                continue
            if self.v11 and isinstance(value, dict):
                self.selector(value, vp)
            else:
                kinds = (
                    "a runtime expression string or a Selector Object"
                    if self.v11
                    else ("a runtime expression string")
                )
                self.add(vp, "structure/type", f"output {key!r} must be {kinds}")

    # -- steps -------------------------------------------------------------------------------
    _BASE: ClassVar[set[str]] = {
        "stepId",
        "description",
        "parameters",
        "requestBody",
        "successCriteria",
        "onSuccess",
        "onFailure",
        "outputs",
    }

    def step(self, raw: Any, p: str) -> None:
        if not isinstance(raw, dict):
            self.add(p, "structure/type", f"a Step must be an object, not {_kind(raw)}")
            return
        if self.v11:
            self.step11(raw, p)
            return
        targets = [k for k in ("operationId", "operationPath", "workflowId") if k in raw]
        self.obj(
            raw,
            p,
            "a Step",
            self._BASE | {"operationId", "operationPath", "workflowId"},
            ("stepId",),
        )
        if len(targets) != 1:
            self.add(
                p,
                "structure/step-target",
                "a Step needs exactly one of operationId, operationPath, workflowId"
                + (f" (it has {', '.join(targets)})" if targets else ""),
            )
        for k in ("operationId", "operationPath", "workflowId"):
            self.string(raw, k, p)
        self.step_common(
            raw,
            p,
            needs_in=targets in (["operationId"], ["operationPath"]),
            check_items=len(targets) == 1,
        )

    def step11(self, raw: dict[str, Any], p: str) -> None:
        base = self._BASE | {"timeout", "dependsOn"}

        def openapi() -> None:
            self.obj(
                raw, p, "an OpenAPI Step", base | {"operationId", "operationPath"}, ("stepId",)
            )
            targets = [k for k in ("operationId", "operationPath") if k in raw]
            if len(targets) != 1:
                self.add(
                    p,
                    "structure/step-target",
                    "an OpenAPI Step needs exactly one of operationId, operationPath",
                )
            for k in targets:
                self.string(raw, k, p)
            self.step_common(raw, p, needs_in=True)

        def asyncapi() -> None:
            self.obj(
                raw,
                p,
                "an AsyncAPI Step",
                base | {"operationId", "channelPath", "correlationId", "action"},
                ("stepId", "action"),
            )
            targets = [k for k in ("operationId", "channelPath") if k in raw]
            if len(targets) != 1:
                self.add(
                    p,
                    "structure/step-target",
                    "an AsyncAPI Step needs exactly one of operationId, channelPath",
                )
            for k in targets:
                self.string(raw, k, p)
            self.enum(raw, "action", p, ("send", "receive"))
            if "correlationId" in raw:
                if raw.get("action") != "receive":
                    self.add(
                        f"{p}/correlationId",
                        "structure/correlation-id",
                        "correlationId is only allowed on steps with action: receive",
                    )
                if raw["correlationId"] is None:
                    self.add(f"{p}/correlationId", "structure/type", "correlationId is null")
            self.step_common(raw, p, needs_in=True)

        def workflow() -> None:
            self.obj(raw, p, "a Workflow Step", base | {"workflowId"}, ("stepId", "workflowId"))
            self.string(raw, "workflowId", p)
            self.step_common(raw, p, needs_in=False)

        branches = {"openapi": openapi, "asyncapi": asyncapi, "workflow": workflow}
        results = {name: self.branch(fn) for name, fn in branches.items()}
        passing = [name for name, probs in results.items() if not probs]
        if len(passing) == 1:
            return
        if len(passing) > 1:
            self.add(p, "structure/step-target", f"the Step matches several kinds: {passing}")
            return
        if "workflowId" in raw:
            best = "workflow"
        elif any(k in raw for k in ("channelPath", "action", "correlationId")):
            best = "asyncapi"
        else:
            best = "openapi"
        self.problems.extend(results[best])

    def step_common(
        self, raw: dict[str, Any], p: str, needs_in: bool, check_items: bool = True
    ) -> None:
        self.string(raw, "stepId", p)
        self.string(raw, "description", p)
        if "timeout" in raw and not _is_int(raw["timeout"]):
            self.add(f"{p}/timeout", "structure/type", "'timeout' must be an integer (ms)")
        if "dependsOn" in raw:
            self.array(raw, "dependsOn", p, self.depends_item, 1)
        self.array(
            raw,
            "parameters",
            p,
            (lambda x, q: self.param_or_ref(x, q, needs_in)) if check_items else None,
        )
        if "requestBody" in raw:
            self.request_body(raw["requestBody"], f"{p}/requestBody")
        self.array(raw, "successCriteria", p, self.criterion, 1)
        self.array(raw, "onSuccess", p, lambda x, q: self.action_or_ref(x, q, True))
        self.array(raw, "onFailure", p, lambda x, q: self.action_or_ref(x, q, False))
        self.outputs(raw, p)

    def depends_item(self, v: Any, p: str) -> None:
        if not isinstance(v, str) or not any(r.match(v) for r in _DEPENDS):
            self.add(
                p,
                "structure/depends-on",
                f"dependsOn entry {v!r} must be a stepId, $workflows.<id>.steps.<stepId> or "
                "$sourceDescriptions.<name>.<workflowId>.steps.<stepId>",
            )


def check_structure(raw: Any, family: str) -> list[Problem]:
    """Structural problems of an Arazzo tree for version family "1.0" or "1.1"."""
    checker = Checker(family)
    checker.document(raw)
    return checker.problems


def family_of(raw: Any) -> str:
    """The version family whose rules apply ("1.1" for 1.1.x, otherwise "1.0")."""
    version = raw.get("arazzo") if isinstance(raw, dict) else None
    return "1.1" if isinstance(version, str) and version.startswith("1.1") else "1.0"
