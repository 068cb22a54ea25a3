"""OpenAPI descriptions (3.0, 3.1 and Swagger 2.0): an index of operations with resolved refs.

``OpenAPIDescription.from_tree(name, url, tree)`` checks ``$ref`` chains for cycles, then
indexes every operation by ``operationId`` and by ``(path, METHOD)``. Each
:class:`Operation` carries its merged parameters (path-item then operation level, the
operation's overriding the same ``(name, in)``), its request body and responses with references
resolved (recursive schemas keep their inner ``$ref``), and its effective servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from weft.errors import DocumentError
from weft.openapi.refs import LoadExternal, RefResolver

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
class OpenAPIDescription:
    name: str
    url: str
    version: str
    servers: list[Server] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    by_id: dict[str, Operation] = field(default_factory=dict)
    raw: Any = None
    resolver: RefResolver | None = None

    def operation_at(self, path: str, method: str) -> Operation | None:
        method = method.upper()
        for op in self.operations:
            if op.path == path and op.method == method:
                return op
        return None

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
        resolver.check_cycles()
        desc = cls(name=name, url=url, version=version, raw=tree, resolver=resolver)
        swagger = version.startswith("2")
        desc.servers = _swagger_servers(tree) if swagger else _servers(tree.get("servers"))
        paths = tree.get("paths")
        if isinstance(paths, dict):
            for path, item_raw in paths.items():
                item, item_base = resolver.follow(item_raw)
                if not isinstance(item, dict):
                    continue
                path_params = item.get("parameters")
                item_servers = _servers(item.get("servers")) if not swagger else []
                for method in METHODS:
                    op_raw = item.get(method)
                    if not isinstance(op_raw, dict):
                        continue
                    op = _operation(
                        desc,
                        resolver,
                        str(path),
                        method,
                        op_raw,
                        path_params,
                        item_servers,
                        item_base,
                        swagger,
                    )
                    desc.operations.append(op)
                    if op.operation_id and op.operation_id not in desc.by_id:
                        desc.by_id[op.operation_id] = op
        return desc


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


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _operation(
    desc: OpenAPIDescription,
    resolver: RefResolver,
    path: str,
    method: str,
    raw: dict[str, Any],
    path_params: Any,
    item_servers: list[Server],
    base: str,
    swagger: bool,
) -> Operation:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for group in (path_params, raw.get("parameters")):
        if isinstance(group, list):
            for p in group:
                resolved = resolver.deep(p, base)
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
        request_body = resolver.deep(body, base) if isinstance(body, dict) else None
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
    if isinstance(responses_raw, dict):
        for status, response in responses_raw.items():
            resolved = resolver.deep(response, base)
            if swagger and isinstance(resolved, dict) and "schema" in resolved:
                produces = raw.get("produces") or desc.raw.get("produces") or ["application/json"]
                resolved = {
                    **resolved,
                    "content": {str(produces[0]): {"schema": resolved["schema"]}},
                }
            responses[str(status)] = resolved
    servers = desc.servers
    if not swagger:
        servers = _servers(raw.get("servers")) or item_servers or desc.servers
    op_id = raw.get("operationId")
    return Operation(
        source=desc.name,
        operation_id=op_id if isinstance(op_id, str) else None,
        method=method.upper(),
        path=path,
        parameters=params,
        request_body=request_body,
        responses=responses,
        servers=servers,
        raw=raw,
        pointer=f"/paths/{_escape(path)}/{method}",
    )
