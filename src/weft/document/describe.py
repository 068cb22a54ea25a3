"""``weft describe``: what a document offers and what a run of it needs.

Its workflows with their inputs (name, type, required, default, description; secret inputs
are marked and their defaults never shown: ``format: password``/``writeOnly``, or an input a
credential header or cookie parameter reads, as a run treats them) and outputs,
and its sources with the server URL a run would use for each (the first server of the
operations the steps call, variables at their defaults, relative URLs against the description)
and the option that overrides it: ``--server NAME=URL``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from weft.document.loaded import LoadedDocument
from weft.document.walk import input_schema

NO_DEFAULT: Any = None


@dataclass(slots=True)
class InputInfo:
    name: str
    type: str  # "string", "integer|null", "any"
    required: bool
    has_default: bool
    default: Any
    description: str | None
    secret: bool


@dataclass(slots=True)
class WorkflowInfo:
    workflow_id: str
    summary: str | None
    inputs: list[InputInfo] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SourceInfo:
    name: str
    type: str
    url: str  # as the document writes it
    location: str  # where it is read from (absolute)
    servers: list[str] = field(default_factory=list)  # what a run would send requests to
    problem: str | None = None  # why it could not be loaded


@dataclass(slots=True)
class Description:
    document: str
    arazzo: str
    title: str
    workflows: list[WorkflowInfo] = field(default_factory=list)
    sources: list[SourceInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for wf in data["workflows"]:
            for item in wf["inputs"]:
                if not item.pop("has_default"):
                    item.pop("default")
        return data


def describe(loaded: LoadedDocument) -> Description:
    doc = loaded.document
    out = Description(doc.uri, doc.arazzo, doc.info.title)
    for wf in doc.workflows:
        info = WorkflowInfo(wf.workflow_id, wf.summary, outputs=[str(k) for k in wf.outputs])
        credentials = _credential_inputs(loaded, wf)
        schema = input_schema(doc, wf.inputs)
        props = schema.get("properties") if isinstance(schema, dict) else None
        required = schema.get("required") if isinstance(schema, dict) else None
        required = required if isinstance(required, list) else []
        for name, prop in (props if isinstance(props, dict) else {}).items():
            prop = input_schema(doc, prop)
            prop = prop if isinstance(prop, dict) else {}
            secret = (
                prop.get("format") == "password"
                or prop.get("writeOnly") is True
                or name in credentials
            )
            info.inputs.append(
                InputInfo(
                    name=str(name),
                    type=_type_text(prop.get("type")),
                    required=name in required,
                    has_default="default" in prop,
                    default=("***" if secret else prop.get("default"))
                    if "default" in prop
                    else NO_DEFAULT,
                    description=prop.get("description")
                    if isinstance(prop.get("description"), str)
                    else None,
                    secret=secret,
                )
            )
        out.workflows.append(info)
    problems = {p.name: p for p in loaded.source_problems}
    for sd in doc.source_descriptions:
        loaded_source = loaded.sources.get(sd.name)
        info_s = SourceInfo(sd.name, sd.type or "openapi", sd.url, sd.url)
        if loaded_source is not None:
            info_s.location = loaded_source.url
            info_s.type = loaded_source.type
            info_s.servers = _servers(loaded, sd.name)
        elif sd.name in problems:
            problem = problems[sd.name]
            info_s.problem = f"{problem.what}" + (f": {problem.why}" if problem.why else "")
        out.sources.append(info_s)
    return out


def _credential_header(name: str, in_: str | None) -> bool:
    lower = name.lower()
    if in_ == "cookie":
        return True
    if in_ != "header" or lower == "idempotency-key":
        return False
    return lower in ("authorization", "cookie") or lower.endswith(("-key", "-token"))


def _credential_inputs(loaded: LoadedDocument, wf: Any) -> set[str]:
    """Inputs a credential header or cookie parameter of the workflow reads."""
    from weft.document import model as m
    from weft.document.walk import resolve_parameter
    from weft.expressions import ExpressionError, compile_value

    found: set[str] = set()
    items = [*wf.parameters, *(p for step in wf.steps for p in step.parameters)]
    for item in items:
        param = resolve_parameter(loaded.document, item)
        if param is None or not _credential_header(param.name, param.in_):
            continue
        if isinstance(param.value, m.Selector):
            continue
        try:
            compiled = compile_value(param.value)
        except ExpressionError:
            continue
        found.update(e.name for e in compiled.expressions if e.root == "inputs" and e.name)
    return found


def _type_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list) and raw and all(isinstance(t, str) for t in raw):
        return "|".join(raw)
    return "any"


def _servers(loaded: LoadedDocument, name: str) -> list[str]:
    """The server URLs a run would use for source ``name``: those of the operations the
    document's steps call (the description's first server when no step calls it)."""
    from weft.openapi.description import server_url

    source = loaded.sources[name]
    if source.openapi is None:
        return []
    found: list[str] = []
    for wf in loaded.document.workflows:
        for step in wf.steps:
            if step.operation_id is None and step.operation_path is None:
                continue
            op = loaded.find_operation(step).operation
            if op is not None and op.source == name:
                url = server_url(op.servers, source.url)
                if url not in found:
                    found.append(url)
    return found or [server_url(source.openapi.servers, source.url)]


def render_description(d: Description, label: str | None = None) -> str:
    """The text ``weft describe`` prints (``label``: the document as the user named it)."""
    lines = [f"{label or d.document}: {d.title} (Arazzo {d.arazzo})"]
    for wf in d.workflows:
        lines += ["", f"workflow {wf.workflow_id}" + (f": {wf.summary}" if wf.summary else "")]
        if wf.inputs:
            lines.append("  inputs:")
            name_w = max(len(i.name) for i in wf.inputs)
            type_w = max(len(i.type) for i in wf.inputs)
            for i in wf.inputs:
                tags = ["required" if i.required else "optional"]
                if i.secret:
                    tags.append("secret")
                if i.has_default:
                    tags.append(f"default {_show(i.default)}")
                text = f"    {i.name.ljust(name_w)}  {i.type.ljust(type_w)}  {', '.join(tags)}"
                if i.description:
                    text += f"  - {' '.join(i.description.split())}"
                lines.append(text)
        else:
            lines.append("  inputs: none")
        lines.append(f"  outputs: {', '.join(wf.outputs) if wf.outputs else 'none'}")
    for s in d.sources:
        lines += ["", f"source {s.name} ({s.type}): {s.url}"]
        if s.problem:
            lines.append(f"  not loaded: {s.problem}")
        for url in s.servers:
            lines.append(f"  server: {url}")
        if s.type == "openapi":
            lines.append(f"  override: weft run ... --server {s.name}=URL")
    return "\n".join(lines)


def _show(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)
