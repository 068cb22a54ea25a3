"""The typed Arazzo model (1.0.1 and 1.1.0).

Every object keeps where it came from (:class:`Location`, ``file:line:column``) and the
JSON Pointer of its node inside the document, so any diagnostic can point at it. Unknown
``x-`` fields are kept in ``extensions``. ``field_locs`` maps a field name to the location of
that field's *value*, for diagnostics that point at one field (e.g. a parameter's ``value``).

This module is a contract shared by the loader, validator, linter and engine: fields may be
added, never renamed or removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Location:
    """A position in a source file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


UNKNOWN_LOCATION = Location("<unknown>", 0, 0)


@dataclass(slots=True, kw_only=True)
class Node:
    """Common base: source position, pointer, extensions and per-field value positions."""

    loc: Location = UNKNOWN_LOCATION
    pointer: str = ""
    extensions: dict[str, Any] = field(default_factory=dict)
    # field name -> location of its value (a mapping that may compute them on demand)
    field_locs: Mapping[str, Location] = field(default_factory=dict)

    def at(self, field_name: str) -> Location:
        """Location of a field's value, falling back to the object's own location."""
        return self.field_locs.get(field_name, self.loc)


@dataclass(slots=True, kw_only=True)
class Info(Node):
    title: str = ""
    version: str = ""
    summary: str | None = None
    description: str | None = None


SourceType = Literal["openapi", "arazzo", "asyncapi"]


@dataclass(slots=True, kw_only=True)
class SourceDescription(Node):
    name: str
    url: str
    type: str | None = None  # "openapi" | "arazzo" | "asyncapi" (1.1); None means openapi


@dataclass(slots=True, kw_only=True)
class ExpressionType(Node):
    """Expression Type Object: a selector/condition language and its version."""

    type: str  # "jsonpath" | "xpath" | "jsonpointer"
    version: str


@dataclass(slots=True, kw_only=True)
class Selector(Node):
    """Selector Object (1.1): a JSONPath / XPath / JSON Pointer applied to a context."""

    context: str
    selector: str
    type: str | ExpressionType


@dataclass(slots=True, kw_only=True)
class Criterion(Node):
    condition: str
    context: str | None = None
    # None means "simple"; otherwise "simple" | "regex" | "jsonpath" | "xpath" or an ExpressionType
    type: str | ExpressionType | None = None

    @property
    def kind(self) -> str:
        """The condition language: simple, regex, jsonpath or xpath."""
        if self.type is None:
            return "simple"
        if isinstance(self.type, ExpressionType):
            return self.type.type
        return self.type

    @property
    def version(self) -> str | None:
        """The language version from an Expression Type Object, if one was given."""
        return self.type.version if isinstance(self.type, ExpressionType) else None


@dataclass(slots=True, kw_only=True)
class ReusableRef(Node):
    """Reusable Object: ``reference: $components.<kind>.<name>`` with an optional value override."""

    reference: str
    value: Any = None
    has_value: bool = False


@dataclass(slots=True, kw_only=True)
class Parameter(Node):
    name: str
    in_: str | None = None  # "path" | "query" | "header" | "cookie" | "querystring" (1.1)
    value: Any = None  # constant, runtime expression string, template string, or Selector


@dataclass(slots=True, kw_only=True)
class PayloadReplacement(Node):
    target: str
    value: Any = None
    target_selector_type: str | ExpressionType | None = None


@dataclass(slots=True, kw_only=True)
class RequestBody(Node):
    content_type: str | None = None
    payload: Any = None
    has_payload: bool = False
    replacements: list[PayloadReplacement] = field(default_factory=list)


ActionType = Literal["end", "goto", "retry"]


@dataclass(slots=True, kw_only=True)
class SuccessAction(Node):
    name: str
    type: str  # "end" | "goto"
    workflow_id: str | None = None
    step_id: str | None = None
    parameters: list[Parameter | ReusableRef] = field(default_factory=list)
    criteria: list[Criterion] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class FailureAction(Node):
    name: str
    type: str  # "end" | "goto" | "retry"
    workflow_id: str | None = None
    step_id: str | None = None
    parameters: list[Parameter | ReusableRef] = field(default_factory=list)
    retry_after: float | None = None
    retry_limit: int | None = None
    criteria: list[Criterion] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Step(Node):
    step_id: str
    description: str | None = None
    operation_id: str | None = None
    operation_path: str | None = None
    workflow_id: str | None = None
    channel_path: str | None = None  # 1.1 (AsyncAPI)
    action: str | None = None  # 1.1 (AsyncAPI): "send" | "receive"
    correlation_id: str | None = None  # 1.1 (AsyncAPI)
    timeout: int | None = None  # 1.1: milliseconds
    depends_on: list[str] = field(default_factory=list)  # 1.1
    parameters: list[Parameter | ReusableRef] = field(default_factory=list)
    request_body: RequestBody | None = None
    success_criteria: list[Criterion] = field(default_factory=list)
    on_success: list[SuccessAction | ReusableRef] | None = None  # None: field absent
    on_failure: list[FailureAction | ReusableRef] | None = None  # None: field absent
    outputs: dict[str, Any] = field(default_factory=dict)  # expression string or Selector


@dataclass(slots=True, kw_only=True)
class Workflow(Node):
    workflow_id: str
    summary: str | None = None
    description: str | None = None
    inputs: Any = None  # JSON Schema 2020-12 (dict, bool) or None
    depends_on: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    success_actions: list[SuccessAction | ReusableRef] = field(default_factory=list)
    failure_actions: list[FailureAction | ReusableRef] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    parameters: list[Parameter | ReusableRef] = field(default_factory=list)

    def step(self, step_id: str) -> Step | None:
        for s in self.steps:
            if s.step_id == step_id:
                return s
        return None

    def step_index(self, step_id: str) -> int | None:
        for i, s in enumerate(self.steps):
            if s.step_id == step_id:
                return i
        return None


@dataclass(slots=True, kw_only=True)
class Components(Node):
    inputs: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Parameter] = field(default_factory=dict)
    success_actions: dict[str, SuccessAction] = field(default_factory=dict)
    failure_actions: dict[str, FailureAction] = field(default_factory=dict)
    # 1.1 adds reusable selectors etc.; anything else under components is kept here
    other: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class ArazzoDocument(Node):
    arazzo: str
    info: Info
    source_descriptions: list[SourceDescription] = field(default_factory=list)
    workflows: list[Workflow] = field(default_factory=list)
    components: Components = field(default_factory=Components)
    self_uri: str | None = None  # 1.1 `$self`
    uri: str = ""  # where the document was loaded from (absolute path or URL)
    base_uri: str = ""  # base for resolving relative references ($self or uri)
    content_hash: str = ""  # sha256 of the raw bytes
    raw: Any = None  # the plain parsed tree (dicts/lists/scalars) for schema validation

    @property
    def version_family(self) -> str:
        """``"1.0"`` or ``"1.1"`` from the ``arazzo`` field."""
        return ".".join(self.arazzo.split(".")[:2])

    def workflow(self, workflow_id: str) -> Workflow | None:
        for w in self.workflows:
            if w.workflow_id == workflow_id:
                return w
        return None

    def source(self, name: str) -> SourceDescription | None:
        for s in self.source_descriptions:
            if s.name == name:
                return s
        return None
