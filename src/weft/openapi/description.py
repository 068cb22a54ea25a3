"""OpenAPI descriptions (3.0, 3.1 and Swagger 2.0): an index of operations with resolved refs.

``OpenAPIDescription.from_tree(name, url, tree)`` indexes every operation by ``operationId``
and by ``(path, METHOD)``; an :class:`Operation` is built when first asked for. It carries its
merged parameters (path-item then operation level, the operation's overriding the same
``(name, in)``), its request body and responses with references resolved (recursive schemas
keep their inner ``$ref``), and its effective servers. A reference that does not resolve is not
an error here: it stays a ``{"$ref": ...}`` object and is listed in ``broken_refs`` (parameters,
request body: the request cannot be built) or ``response_refs`` (descriptive only);
``ref_problems()`` lists every broken reference of the description.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from weft.errors import DocumentError
from weft.expressions.pointer import escape_token
from weft.openapi.refs import LoadExternal, RefError, RefProblem, RefResolver

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")


@dataclass(slots=True)
class Server:
    url: str
    variables: dict[str, str] = field(default_factory=dict)  # name -> default


@dataclass(slots=True)
class OperationParameter:
    name: str
    in_: str
    required: bool = False
    style: str | None = None
    explode: bool | None = None
    schema: Any = None
    content: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Operation:
    source: str
    operation_id: str | None
    method: str  # upper-case
    path: str
    parameters: list[OperationParameter] = field(default_factory=list)
    request_body: dict[str, Any] | None = None
    responses: dict[str, Any] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    pointer: str = ""  # JSON Pointer of the operation inside its description
    # $refs of its parameters / request body that do not resolve: the request cannot be built
    broken_refs: list[RefProblem] = field(default_factory=list)
    # $refs of its responses that do not resolve (descriptive only)
    response_refs: list[RefProblem] = field(default_factory=list)

    @property
    def label(self) -> str:
        ident = self.operation_id or f"{self.method} {self.path}"
        return f"{self.source}.{ident}"

    def parameter(self, name: str, in_: str) -> OperationParameter | None:
        for p in self.parameters:
            if p.name == name and p.in_ == in_:
                return p
        return None

    def response_schema(self, status: str, media: str = "application/json") -> Any:
        """The schema of a response's JSON content (``None`` when not described)."""
        response = self.responses.get(status)
        if not isinstance(response, dict):
            return None
        content = response.get("content")
        if not isinstance(content, dict):
            return None
        entry = content.get(media)
        if entry is None:
            entry = next((v for k, v in content.items() if "json" in k), None)
        return entry.get("schema") if isinstance(entry, dict) else None


@dataclass(slots=True)
class _Entry:
    """Where an operation is written: enough to build its :class:`Operation` on demand."""

    path: str
    method: str
    raw: dict[str, Any]
    path_params: Any
    item_servers: list[Server]
    item_base: str
    item_pointer: str
    problems: list[RefProblem]  # a broken $ref of the path item itself


class _ById(Mapping[str, Operation]):
    """``operationId -> Operation``, each operation resolved the first time it is asked for."""

    __slots__ = ("_desc",)

    def __init__(self, desc: OpenAPIDescription) -> None:
        self._desc = desc

    def __getitem__(self, op_id: str) -> Operation:
        return self._desc.operation(self._desc.ids[op_id])

    def __contains__(self, op_id: object) -> bool:
        return op_id in self._desc.ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._desc.ids)

    def __len__(self) -> int:
        return len(self._desc.ids)


@dataclass(slots=True)
class OpenAPIDescription:
    """An index of a description's operations. Indexing reads only ``paths``; each
    :class:`Operation` (its ``$ref``s resolved) is built the first time it is asked for, so a
    large description costs little beyond the operations a workflow uses."""

    name: str
    url: str
    version: str
    servers: list[Server] = field(default_factory=list)
    raw: Any = None
    resolver: RefResolver | None = None
    ids: dict[str, tuple[str, str]] = field(default_factory=dict)  # operationId -> (path, METHOD)
    entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)
    built: dict[tuple[str, str], Operation] = field(default_factory=dict)
    swagger: bool = False

    @property
    def by_id(self) -> Mapping[str, Operation]:
        return _ById(self)

    @property
    def operations(self) -> list[Operation]:
        """Every operation (resolves them all: for listings, not for lookups)."""
        return [self.operation(key) for key in self.entries]

    def operation(self, key: tuple[str, str]) -> Operation:
        op = self.built.get(key)
        if op is None:
            entry = self.entries[key]
            assert self.resolver is not None
            op = _operation(self, self.resolver, entry)
            self.built[key] = op
        return op

    def operation_at(self, path: str, method: str) -> Operation | None:
        key = (path, method.upper())
        return self.operation(key) if key in self.entries else None

    def operation_keys(self) -> list[tuple[str, str]]:
        """``(path, METHOD)`` of every operation, without resolving any."""
        return list(self.entries)

    def ref_problems(self) -> list[RefProblem]:
        """Every ``$ref`` of the description that does not resolve (scanned once)."""
        return self.resolver.scan() if self.resolver is not None else []

    @classmethod
    def from_tree(
        cls, name: str, url: str, tree: Any, load_external: LoadExternal | None = None
    ) -> OpenAPIDescription:
        if not isinstance(tree, dict):
            raise DocumentError(
                f"source {name!r} is not an OpenAPI description",
                where=url,
                why="the document is not an object",
            )
        version = tree.get("openapi") or tree.get("swagger")
        if not isinstance(version, str) or version[:1] not in ("2", "3"):
            raise DocumentError(
                f"source {name!r} is not an OpenAPI description",
                where=url,
                why="no 'openapi: 3.x' (or 'swagger: 2.0') field",
            )
        resolver = RefResolver(tree, url, load_external)
        swagger = version.startswith("2")
        desc = cls(
            name=name, url=url, version=version, raw=tree, resolver=resolver, swagger=swagger
        )
        desc.servers = _swagger_servers(tree) if swagger else _servers(tree.get("servers"))
        paths = tree.get("paths")
        if not isinstance(paths, dict):
            return desc
        for path, item_raw in paths.items():
            item_pointer = f"/paths/{escape_token(str(path))}"
            problems: list[RefProblem] = []
            try:
                item, item_base = resolver.follow(item_raw, None, item_pointer)
            except RefError as exc:
                problems.append(exc.problem)
                item, item_base = {}, resolver.url
            if not isinstance(item, dict):
                continue
            path_params = item.get("parameters")
            item_servers = _servers(item.get("servers")) if not swagger else []
            if item is not item_raw:
                item_pointer = _target_pointer(item_raw)
            for method in METHODS:
                op_raw = item.get(method)
                if not isinstance(op_raw, dict):
                    continue
                key = (str(path), method.upper())
                desc.entries[key] = _Entry(
                    str(path),
                    method,
                    op_raw,
                    path_params,
                    item_servers,
                    item_base,
                    item_pointer,
                    problems,
                )
                op_id = op_raw.get("operationId")
                if isinstance(op_id, str) and op_id not in desc.ids:
                    desc.ids[op_id] = key
        return desc


def _target_pointer(item_raw: Any) -> str:
    """The pointer a path item ``$ref`` names (where the operations really are)."""
    ref = item_raw.get("$ref") if isinstance(item_raw, dict) else None
    return ref.partition("#")[2] if isinstance(ref, str) else ""


def server_url(servers: list[Server], description_url: str) -> str:
    """The base URL a run uses by default: the first server, its variables at their defaults,
    a relative URL resolved against the description's own URL (no trailing ``/``)."""
    from urllib.parse import urljoin

    url = "/"
    if servers:
        url = servers[0].url
        for name, default in servers[0].variables.items():
            url = url.replace("{" + name + "}", str(default))
    if "://" not in url:
        url = urljoin(description_url, url)
    return url.rstrip("/")


def _servers(raw: Any) -> list[Server]:
    out: list[Server] = []
    if isinstance(raw, list):
        for s in raw:
            if isinstance(s, dict) and isinstance(s.get("url"), str):
                variables = s.get("variables") if isinstance(s.get("variables"), dict) else {}
                assert isinstance(variables, dict)
                out.append(
                    Server(
                        s["url"],
                        {
                            k: str(v.get("default", ""))
                            for k, v in variables.items()
                            if isinstance(v, dict)
                        },
                    )
                )
    return out


def _swagger_servers(tree: dict[str, Any]) -> list[Server]:
    host = tree.get("host")
    base = tree.get("basePath") or ""
    schemes = tree.get("schemes") or ["https"]
    if not isinstance(host, str):
        return [Server(str(base))] if base else []
    return [Server(f"{scheme}://{host}{base}") for scheme in schemes if isinstance(scheme, str)]


def _operation(desc: OpenAPIDescription, resolver: RefResolver, entry: _Entry) -> Operation:
    raw, base, swagger = entry.raw, entry.item_base, desc.swagger
    op_pointer = f"{entry.item_pointer}/{entry.method}"
    broken: list[RefProblem] = list(entry.problems)  # the request cannot be built without them
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    groups = (
        (entry.path_params, f"{entry.item_pointer}/parameters"),
        (raw.get("parameters"), f"{op_pointer}/parameters"),
    )
    for group, group_pointer in groups:
        if isinstance(group, list):
            for i, p in enumerate(group):
                resolved = resolver.deep(p, base, f"{group_pointer}/{i}", broken)
                if isinstance(resolved, dict) and isinstance(resolved.get("name"), str):
                    merged[(resolved["name"], str(resolved.get("in")))] = resolved
    params: list[OperationParameter] = []
    request_body: dict[str, Any] | None = None
    if swagger:
        consumes = raw.get("consumes") or desc.raw.get("consumes") or ["application/json"]
        form: dict[str, Any] = {}
        for (name, in_), p in list(merged.items()):
            if in_ == "body":
                request_body = {
                    "required": bool(p.get("required")),
                    "content": {str(consumes[0]): {"schema": p.get("schema", {})}},
                }
                del merged[(name, in_)]
            elif in_ == "formData":
                form[name] = {k: v for k, v in p.items() if k not in ("name", "in", "required")}
                del merged[(name, in_)]
        if form:
            request_body = {
                "content": {str(consumes[0]): {"schema": {"type": "object", "properties": form}}}
            }
    else:
        body = raw.get("requestBody")
        if isinstance(body, dict):
            request_body = resolver.deep(body, base, f"{op_pointer}/requestBody", broken)
    for (name, in_), p in merged.items():
        explode = p.get("explode")
        schema = p.get("schema")
        if swagger and schema is None:
            schema = {k: v for k, v in p.items() if k in ("type", "items", "enum", "format")}
        params.append(
            OperationParameter(
                name=name,
                in_=in_,
                required=bool(p.get("required")) or in_ == "path",
                style=p.get("style") if isinstance(p.get("style"), str) else None,
                explode=explode if isinstance(explode, bool) else None,
                schema=schema,
                content=p.get("content") if isinstance(p.get("content"), dict) else None,
                raw=p,
            )
        )
    responses_raw = raw.get("responses")
    responses: dict[str, Any] = {}
    response_refs: list[RefProblem] = []  # only descriptive: a run does not need them
    if isinstance(responses_raw, dict):
        for status, response in responses_raw.items():
            where = f"{op_pointer}/responses/{escape_token(str(status))}"
            resolved = resolver.deep(response, base, where, response_refs)
            if swagger and isinstance(resolved, dict) and "schema" in resolved:
                produces = raw.get("produces") or desc.raw.get("produces") or ["application/json"]
                resolved = {
                    **resolved,
                    "content": {str(produces[0]): {"schema": resolved["schema"]}},
                }
            responses[str(status)] = resolved
    servers = desc.servers
    if not swagger:
        servers = _servers(raw.get("servers")) or entry.item_servers or desc.servers
    op_id = raw.get("operationId")
    return Operation(
        source=desc.name,
        operation_id=op_id if isinstance(op_id, str) else None,
        method=entry.method.upper(),
        path=entry.path,
        parameters=params,
        request_body=request_body,
        responses=responses,
        servers=servers,
        raw=raw,
        pointer=op_pointer,
        broken_refs=broken,
        response_refs=response_refs,
    )
