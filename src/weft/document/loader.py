"""``load``: read an Arazzo document and its source descriptions into a LoadedDocument.

Refuses (DocumentError, exit 2) what cannot be read as an Arazzo document at all: unreadable
or unparsable bytes; and (:class:`NotArazzo`, a DocumentError with a position) a top level that
is not an object, a missing or unknown ``arazzo`` version. Everything else loads, and
:func:`validate` reports what is wrong with it. A source description that cannot be read does
not stop loading: it is recorded in ``LoadedDocument.source_problems`` (validate reports it at
the source's ``url``; a step that needs it fails to resolve). ``with_sources=False`` loads the
document alone.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from typing import Any

from weft.document.builder import build_document
from weft.document.fetch import (
    MAX_DOCUMENT_BYTES,
    MAX_SOURCE_BYTES,
    Fetch,
    display,
    read,
    resolve,
    to_uri,
)
from weft.document.loaded import LoadedDocument, LoadedSource, SourceProblem
from weft.document.model import Location, SourceDescription
from weft.document.parse import Parsed, collector_paused, parse_bytes
from weft.document.positions import SourcePositions
from weft.errors import DocumentError, UsageError

VERSION = re.compile(r"^1\.([01])\.\d+(-.+)?$")


class NotArazzo(DocumentError):
    """The bytes parse, but the top level is not an Arazzo document of a version weft reads.

    ``rule`` and ``location`` let ``weft validate`` report it as a finding (exit 1).
    """

    def __init__(
        self, rule: str, location: Location, what: str, why: str, hint: str | None = None
    ) -> None:
        self.rule = rule
        self.location = location
        super().__init__(what, where=str(location), why=why, hint=hint)


def check_header(raw: Any, where: str, parsed: Parsed | None = None) -> str:
    """The version family ("1.0"/"1.1") of an Arazzo tree, or :class:`NotArazzo`."""
    top = parsed.loc("") if parsed is not None else Location(where, 1, 1)
    if not isinstance(raw, dict):
        kind = {"list": "list", "str": "string", "NoneType": "null"}.get(
            type(raw).__name__, type(raw).__name__
        )
        raise NotArazzo(
            "arazzo/not-arazzo",
            top,
            "not an Arazzo document",
            f"the top level is a {kind}, not an object with an 'arazzo' field",
        )
    if "arazzo" not in raw:
        why = "there is no 'arazzo' field"
        if "openapi" in raw or "swagger" in raw:
            why += " (this looks like an OpenAPI description)"
        raise NotArazzo(
            "arazzo/not-arazzo",
            top,
            "not an Arazzo document",
            why,
            hint="an Arazzo document starts with e.g. 'arazzo: 1.0.1'",
        )
    version = raw["arazzo"]
    match = VERSION.match(version) if isinstance(version, str) else None
    if match is None:
        raise NotArazzo(
            "arazzo/version",
            parsed.loc("/arazzo") if parsed is not None else top,
            f"unsupported Arazzo version {version!r}",
            "weft reads Arazzo 1.0.x and 1.1.x (the version is a string)",
            hint="write e.g. arazzo: 1.0.1 or arazzo: 1.1.0",
        )
    return f"1.{match.group(1)}"


def load(
    location: str | os.PathLike[str],
    *,
    fetch: Fetch | None = None,
    sources: Mapping[str, str] | None = None,
    with_sources: bool = True,
    strict: bool = False,
) -> LoadedDocument:
    """Load an Arazzo document (path or ``file:``/``http(s):`` URL) and all its sources.

    ``sources`` replaces the URL of the document's own source descriptions by name (a path or
    URL each), e.g. to check a third-party workflow against better descriptions of its APIs
    without editing it. ``with_sources=False`` reads the document alone. ``strict`` makes the
    loaded document refuse compatibility readings when resolving (see ``LoadedDocument``).
    """
    location = os.fspath(location)
    uri = to_uri(location)
    label = location if not location.startswith("file:") else display(uri)
    overrides = {name: to_uri(os.fspath(url)) for name, url in (sources or {}).items()}
    with collector_paused():  # millions of small objects: see weft.document.parse
        loaded = _Loader(fetch, overrides, with_sources).arazzo(uri, label)
    loaded.strict = strict
    unknown = sorted(set(overrides) - {sd.name for sd in loaded.document.source_descriptions})
    if unknown:
        names = ", ".join(sd.name for sd in loaded.document.source_descriptions)
        raise UsageError(
            f"no source description named {', '.join(map(repr, unknown))} to replace",
            where=label,
            hint=f"the document's sources are: {names}",
        )
    return loaded


class _Loader:
    def __init__(
        self,
        fetch: Fetch | None,
        overrides: Mapping[str, str] | None = None,
        with_sources: bool = True,
    ) -> None:
        self.fetch = fetch
        self.overrides = dict(overrides or {})  # for the first (root) document only
        self.with_sources = with_sources
        self.documents: dict[str, LoadedDocument] = {}
        self.trees: dict[str, Any] = {}
        self.positions = SourcePositions()

    def arazzo(self, uri: str, label: str) -> LoadedDocument:
        data = read(uri, fetch=self.fetch, limit=MAX_DOCUMENT_BYTES, what="Arazzo document")
        parsed = parse_bytes(data, label)
        family = check_header(parsed.data, label, parsed)
        document = build_document(parsed, family)
        document.uri = display(uri)
        document.content_hash = hashlib.sha256(data).hexdigest()
        base = uri
        if family == "1.1" and document.self_uri:
            base = resolve(uri, document.self_uri.split("#")[0])
        document.base_uri = base
        loaded = LoadedDocument(document=document, parsed=parsed, positions=self.positions)
        loaded.sources_loaded = self.with_sources
        self.documents[uri] = loaded
        overrides, self.overrides = self.overrides, {}
        if not self.with_sources:
            return loaded
        for sd in document.source_descriptions:
            if sd.name and sd.url and sd.name not in loaded.sources:
                url = overrides.get(sd.name) or resolve(base, sd.url)
                try:
                    loaded.sources[sd.name] = self.source(sd, url)
                except DocumentError as exc:
                    if any(p.name == sd.name for p in loaded.source_problems):
                        continue
                    loaded.source_problems.append(
                        SourceProblem(
                            name=sd.name,
                            url=display(url),
                            location=sd.at("url"),
                            what=f"source description {sd.name!r} cannot be loaded",
                            why=_cause(exc),
                            hint=exc.hint
                            or "check the source's url (relative urls resolve against the "
                            "document), pass --source NAME=PATH, or check the document alone "
                            "with --no-sources",
                        )
                    )
        return loaded

    def tree(self, url: str, what: str) -> Any:
        if url not in self.trees:
            data = read(url, fetch=self.fetch, limit=MAX_SOURCE_BYTES, what=what)
            self.positions.add(url, data)
            self.trees[url] = parse_bytes(data, display(url), positions=False).data
        return self.trees[url]

    def source(self, sd: SourceDescription, url: str) -> LoadedSource:
        where = display(url)
        if sd.type == "arazzo":
            loaded = self.documents.get(url) or self.arazzo(url, where)
            return LoadedSource(sd.name, where, "arazzo", arazzo=loaded, raw=loaded.document.raw)
        tree = self.tree(url, "file")
        kind = sd.type or _sniff(tree)
        if kind == "arazzo" and sd.type is None:
            loaded = self.documents.get(url) or self.arazzo(url, where)
            return LoadedSource(sd.name, where, "arazzo", arazzo=loaded, raw=tree)
        if kind == "asyncapi":
            return LoadedSource(sd.name, where, "asyncapi", raw=tree)
        from weft.openapi.description import OpenAPIDescription

        desc = OpenAPIDescription.from_tree(
            sd.name,
            url,
            tree,
            load_external=lambda u: self.tree(u, "file"),
        )
        return LoadedSource(sd.name, where, "openapi", openapi=desc, raw=tree)


def _sniff(tree: Any) -> str:
    if isinstance(tree, dict):
        if "arazzo" in tree:
            return "arazzo"
        if "asyncapi" in tree:
            return "asyncapi"
    return "openapi"


def _cause(exc: DocumentError) -> str:
    """The inner error as one ``why`` line: where and what, then its own why if any."""
    text = f"{exc.where}: {exc.what}" if exc.where else exc.what
    return f"{text} ({exc.why})" if exc.why else text
