"""Checking answers against the operation's description (``--check-responses``), as
:class:`~weft.engine.failure.CheckFinding` data:

- ``status-code``: the status is declared (exactly, as ``2XX``, or by ``default``);
- ``content-type``: the answer's media type is one the response declares;
- ``schema``: a JSON body is valid against the response schema (JSON Schema 2020-12; OpenAPI
  3.0 and Swagger 2.0 schemas are translated first, see :mod:`weft.openapi.schema_dialect`);
- ``headers``: the response headers declared ``required: true`` are present.

Each check has a severity (:class:`ResponseChecks`): ``error`` fails the step (a failure of kind
``response_check``), ``warn`` reports the findings and records them, ``off`` skips the check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from weft.engine.failure import CheckFinding
from weft.errors import UsageError
from weft.expressions.context import ABSENT
from weft.openapi.bodies import is_json, media_type
from weft.openapi.schema_dialect import needs_translation, translate_document, translate_schema

if TYPE_CHECKING:
    from weft.openapi.description import OpenAPIDescription, Operation

CHECKS = ("status-code", "content-type", "schema", "headers")
MAX_SCHEMA_FINDINGS = 5
_MAX_MESSAGE = 300
_BASE = "urn:weft:openapi-description"


class Severity(StrEnum):
    OFF = "off"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ResponseChecks:
    """Which checks run and how much a finding weighs (``enabled`` False: none run)."""

    enabled: bool = False
    severities: Mapping[str, Severity] = field(default_factory=dict)

    def severity(self, check: str) -> Severity:
        return self.severities.get(check, Severity.ERROR) if self.enabled else Severity.OFF

    @classmethod
    def build(
        cls, enabled: bool = True, severities: Mapping[str, str] | Iterable[str] | None = None
    ) -> ResponseChecks:
        """Checks from ``--check-responses`` and ``--severity CHECK=LEVEL`` values (a mapping
        or ``CHECK=LEVEL`` strings); a severity given turns the checks on."""
        parsed: dict[str, Severity] = {}
        items: Iterable[tuple[str, str]]
        if severities is None:
            items = ()
        elif isinstance(severities, Mapping):
            items = [(str(k), str(v)) for k, v in severities.items()]
        else:
            items = [_pair(s) for s in severities]
        for check, level in items:
            if check not in CHECKS:
                raise UsageError(
                    f"--severity {check}: no such response check",
                    hint=f"one of: {', '.join(CHECKS)}",
                )
            try:
                parsed[check] = Severity(level)
            except ValueError:
                raise UsageError(
                    f"--severity {check}={level}: the level is warn, error or off",
                    hint=f"--severity {check}=warn",
                ) from None
        return cls(enabled=enabled or bool(parsed), severities=parsed)

    def to_snapshot(self) -> dict[str, str] | None:
        if not self.enabled:
            return None
        return {check: self.severity(check).value for check in CHECKS}

    @classmethod
    def from_snapshot(cls, d: Any) -> ResponseChecks:
        if not isinstance(d, Mapping):
            return NO_CHECKS
        try:
            return cls.build(True, {k: v for k, v in d.items() if k in CHECKS})
        except UsageError:
            return NO_CHECKS


NO_CHECKS = ResponseChecks()


def _pair(text: str) -> tuple[str, str]:
    check, sep, level = text.partition("=")
    if not sep:
        raise UsageError(f"--severity {text!r} is not CHECK=LEVEL", hint="--severity schema=warn")
    return check.strip(), level.strip().lower()


@dataclass(slots=True)
class Findings:
    """What the checks found, split by weight."""

    errors: list[CheckFinding] = field(default_factory=list)
    warnings: list[CheckFinding] = field(default_factory=list)


class ResponseChecker:
    """Runs the checks of :class:`ResponseChecks` (validators compiled once per response)."""

    def __init__(self, checks: ResponseChecks) -> None:
        self.checks = checks
        self._validators: dict[tuple[int, str, str], tuple[Any, Any]] = {}

    def check(
        self,
        op: Operation,
        description: OpenAPIDescription | None,
        status: int,
        headers: Mapping[str, str],
        body: Any,
        size: int,
    ) -> Findings:
        found = Findings()
        checks = self.checks

        def add(finding: CheckFinding) -> None:
            level = checks.severity(finding.check)
            if level == Severity.ERROR:
                found.errors.append(finding)
            elif level == Severity.WARN:
                found.warnings.append(finding)

        key, response = _declared(op.responses, status)
        if response is None:
            if checks.severity("status-code") != Severity.OFF:
                declared = ", ".join(op.responses) or "none"
                add(CheckFinding("status-code", f"status {status} is not declared ({declared})"))
            return found
        if not isinstance(response, Mapping):
            return found
        if checks.severity("headers") != Severity.OFF:
            for finding in _headers(response, headers):
                add(finding)
        content = response.get("content")
        if not isinstance(content, Mapping) or not content or size == 0:
            return found
        received = headers.get("content-type")
        media = _media(content, received)
        if media is None:
            if checks.severity("content-type") != Severity.OFF:
                said = f"{received!r}" if received else "no Content-Type"
                add(
                    CheckFinding(
                        "content-type",
                        f"{said} is not declared for status {key} ({', '.join(content)})",
                    )
                )
            return found
        if checks.severity("schema") == Severity.OFF or not is_json(media_type(received or "")):
            return found
        entry = content.get(media)
        schema = entry.get("schema") if isinstance(entry, Mapping) else None
        if schema is None or body is ABSENT:
            return found
        validator = self._validator(op, description, key, media, schema)
        for finding in _schema_findings(validator, body):
            add(finding)
        return found

    def _validator(
        self,
        op: Operation,
        description: OpenAPIDescription | None,
        key: str,
        media: str,
        schema: Any,
    ) -> Any:
        cache_key = (id(op), key, media)
        hit = self._validators.get(cache_key)
        if hit is not None and hit[0] is op:
            return hit[1]
        validator = _compile(schema, description)
        self._validators[cache_key] = (op, validator)
        return validator


def _declared(responses: Mapping[str, Any], status: int) -> tuple[str, Any]:
    code = str(status)
    if code in responses:
        return code, responses[code]
    family = f"{code[0]}XX"
    for k, v in responses.items():
        if str(k).upper() == family:
            return str(k), v
    if "default" in responses:
        return "default", responses["default"]
    return code, None


def _media(content: Mapping[str, Any], received: str | None) -> str | None:
    """The declared media type the answer's Content-Type matches (exact, then ``type/*``,
    then ``*/*``), or None."""
    if not received:
        return None
    got = media_type(received)
    family = got.split("/", 1)[0] + "/*"
    by_media = {media_type(str(k)): str(k) for k in content}
    for wanted in (got, family, "*/*"):
        if wanted in by_media:
            return by_media[wanted]
    return None


def _headers(response: Mapping[str, Any], received: Mapping[str, str]) -> list[CheckFinding]:
    declared = response.get("headers")
    out: list[CheckFinding] = []
    if not isinstance(declared, Mapping):
        return out
    for name, header in declared.items():
        if str(name).lower() == "content-type" or not isinstance(header, Mapping):
            continue
        if header.get("required") is True and str(name).lower() not in received:
            out.append(CheckFinding("headers", f"required header {name} is missing"))
    return out


def _compile(schema: Any, description: OpenAPIDescription | None) -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    raw: Any = description.raw if description is not None else {}
    if description is not None and needs_translation(description.version):
        raw = translate_document(raw)
        schema = translate_schema(schema)
    # the schema sits inside the description, so its own "#/components/..." references
    # (recursive schemas keep them) resolve against the description
    tree = {**raw, "x-weft-response-schema": schema} if isinstance(raw, Mapping) else {}
    registry: Registry[Any] = Registry().with_resource(
        _BASE, Resource.from_contents(tree, default_specification=DRAFT202012)
    )
    return Draft202012Validator({"$ref": f"{_BASE}#/x-weft-response-schema"}, registry=registry)


def _schema_findings(validator: Any, body: Any) -> list[CheckFinding]:
    from referencing.exceptions import Unresolvable

    try:
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    except Unresolvable as exc:
        return [CheckFinding("schema", f"the response schema cannot be resolved: {exc}")]
    out: list[CheckFinding] = []
    for error in errors[:MAX_SCHEMA_FINDINGS]:
        path = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
        )
        location = "/".join(str(p) for p in error.relative_schema_path)
        message = error.message
        if len(message) > _MAX_MESSAGE:
            message = message[:_MAX_MESSAGE] + "…"
        out.append(CheckFinding("schema", message, path, f"{error.validator} at #/{location}"))
    return out


__all__ = ["CHECKS", "NO_CHECKS", "Findings", "ResponseChecker", "ResponseChecks", "Severity"]
