"""The Site API (``/api/v1``): model versions (full and mini), models, the model search.

Errors are ``{"error": "<text>"}`` as the site writes them. These endpoints are public: a missing
or unknown token is anonymous (``Cache-Control: public, s-maxage=300``), never a 401.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from weft.civitai.simulator.air import ecosystem_table
from weft.civitai.simulator.catalog import CatalogEntry
from weft.civitai.simulator.http import INT32_MAX, ascii_id, json_response, origin, state_of
from weft.civitai.simulator.images import Placeholder, render

MODEL_TYPES = (
    "Checkpoint", "TextualInversion", "Hypernetwork", "AestheticGradient", "LORA", "LoCon", "DoRA",
    "Controlnet", "Upscaler", "MotionModule", "VAE", "Poses", "Wildcards", "Workflows",
    "Detection", "Other",
)  # fmt: skip
_AUTHED_ONLY = ("favorites", "hidden")


def _anonymous(request: web.Request) -> bool:
    state = state_of(request)
    token = request.query.get("token")
    if token is not None and token in state.accounts:
        return False
    return state.account_for(request.headers.get("Authorization")) is None


def _headers(request: web.Request) -> dict[str, str]:
    if _anonymous(request):
        return {"Cache-Control": "public, s-maxage=300"}
    return {"Cache-Control": "private, no-store"}


def _error(text: Any, status: int) -> web.Response:
    return json_response({"error": text}, status)


def _zod_error(path: str, message: str) -> dict[str, Any]:
    return {"name": "ZodError", "issues": [{"code": "invalid_value", "path": [path],
                                           "message": message}]}  # fmt: skip


def _version_from_path(request: web.Request) -> tuple[CatalogEntry | None, web.Response | None]:
    """The published version named by the path, or the error answer."""
    raw = request.match_info["modelVersionId"]
    version_id = ascii_id(raw)
    if version_id is None:
        return None, _error("Invalid id", 400)
    if version_id == 0:
        return None, _error("Missing modelVersionId", 400)
    entry = state_of(request).catalog.published_version(version_id)
    if entry is None:
        return None, _error("Model not found", 404)
    return entry, None


async def get_model_version(request: web.Request) -> web.Response:
    entry, failure = _version_from_path(request)
    if entry is None:
        assert failure is not None
        return failure
    body = state_of(request).catalog.version_bytes(entry, origin(request))
    return web.Response(body=body, content_type="application/json", headers=_headers(request))


async def get_model_version_mini(request: web.Request) -> web.Response:
    version_id = ascii_id(request.match_info["modelVersionId"])
    if version_id is None or not 0 < version_id <= INT32_MAX:
        message = "✖ Invalid input: expected a positive integer up to 2147483647\n  → at id"
        return _error(message, 400)
    entry, failure = _version_from_path(request)
    if entry is None:
        assert failure is not None
        return failure
    body = state_of(request).catalog.mini_json(entry, origin(request))
    return json_response(body, headers=_headers(request))


async def get_model_version_by_hash(request: web.Request) -> web.Response:
    state = state_of(request)
    entry = state.catalog.by_hash(request.match_info["hash"])
    if entry is None:
        return _error("Model not found", 404)
    return json_response(
        state.catalog.version_json(entry, origin(request)), headers=_headers(request)
    )


async def get_model(request: web.Request) -> web.Response:
    raw = request.match_info["modelId"]
    model_id = ascii_id(raw)
    if model_id is None or not 0 < model_id <= INT32_MAX:
        return _error("Invalid id", 400)
    body = state_of(request).catalog.model_json(model_id, origin(request))
    if body is None:
        return _error(f"No model with id {model_id}", 404)
    return json_response(body, headers=_headers(request))


def _multi(request: web.Request, name: str) -> list[str]:
    """A repeatable, comma-separable query parameter."""
    return [
        v.strip() for raw in request.query.getall(name, []) for v in raw.split(",") if v.strip()
    ]


def _flag(request: web.Request, name: str) -> tuple[bool | None, web.Response | None]:
    raw = request.query.get(name)
    if raw is None:
        return None, None
    if raw not in ("true", "false"):
        return None, _error(_zod_error(name, "Expected 'true' or 'false'"), 400)
    return raw == "true", None


def _count(
    request: web.Request, name: str, low: int, high: int
) -> tuple[int | None, web.Response | None]:
    raw = request.query.get(name)
    if raw is None:
        return None, None
    value = ascii_id(raw)
    if value is None or not low <= value <= high:
        return None, _error(_zod_error(name, f"Expected a number between {low} and {high}"), 400)
    return value, None


async def list_models(request: web.Request) -> web.Response:
    """``GET /api/v1/models``: newest model id first, ``cursor`` (a model id) or ``page``."""
    state = state_of(request)
    if _anonymous(request) and any(k in request.query for k in _AUTHED_ONLY):
        return _error("Unauthorized", 401)
    limit, failure = _count(request, "limit", 0, 100)
    page, failure = (None, failure) if failure else _count(request, "page", 1, 10**9)
    flags: dict[str, bool | None] = {}
    for name in ("nsfw", "supportsGeneration", "primaryFileOnly", *_AUTHED_ONLY):
        if failure is None:
            flags[name], failure = _flag(request, name)
    types, bases = _multi(request, "types"), _multi(request, "baseModels")
    if failure is None and any(t not in MODEL_TYPES for t in types):
        failure = _error(_zod_error("types", f"Expected one of {', '.join(MODEL_TYPES)}"), 400)
    if failure is None and any(b not in ecosystem_table() for b in bases):
        failure = _error(_zod_error("baseModels", "Invalid base model"), 400)
    ids: list[int] = []
    for raw in _multi(request, "ids"):
        value = ascii_id(raw)
        if value is None and failure is None:
            failure = _error(_zod_error("ids", "Expected comma-separated integers"), 400)
        ids.append(value or 0)
    cursor_raw = request.query.get("cursor")
    cursor = ascii_id(cursor_raw) if cursor_raw is not None else None
    if failure is None and cursor_raw is not None and cursor is None:
        failure = _error(_zod_error("cursor", "Invalid cursor"), 400)
    if failure is not None:
        return failure
    size = 100 if limit is None else limit
    query = (request.query.get("query") or "").strip().lower()
    if page is not None and cursor is None:
        if page * size > 1000:
            return _error("You've requested too many pages, please use cursors instead", 429)
        if query:
            return _error(
                "Cannot use page param with query search. Use cursor-based pagination.", 400
            )
    matching = _matching_models(state.catalog.entries.values(), types, bases, ids, query, flags)
    if cursor is not None:
        matching = [m for m in matching if m < cursor]
    start = (page - 1) * size if page is not None and cursor is None else 0
    chosen = matching[start : start + size]
    more = len(matching) > start + size
    base = origin(request)
    items = []
    for model_id in chosen:
        item = state.catalog.model_json(model_id, base)
        assert item is not None
        item["modelVersions"] = [
            v for v in item["modelVersions"]
            if (not bases or v["baseModel"] in bases)
            and (not flags.get("supportsGeneration") or v["supportsGeneration"])
        ]  # fmt: skip
        items.append(item)
    metadata: dict[str, Any] = {}
    if more and chosen:
        metadata["nextCursor"] = str(chosen[-1])
        params = {k: v for k, v in request.query.items() if k not in ("cursor", "page", "token")}
        params["cursor"] = str(chosen[-1])
        metadata["nextPage"] = f"{base}/api/v1/models?{urlencode(params)}"
    if page is not None and cursor is None:
        metadata |= {"currentPage": page, "pageSize": size}
    return json_response({"items": items, "metadata": metadata}, headers=_headers(request))


def _matching_models(
    entries: Iterable[CatalogEntry],
    types: list[str],
    bases: list[str],
    ids: list[int],
    query: str,
    flags: dict[str, bool | None],
) -> list[int]:
    """Model ids (newest first) with at least one published version passing every filter."""
    found: set[int] = set()
    for entry in entries:
        if not entry.published or (types and entry.model_type not in types):
            continue
        if (bases and entry.base_model not in bases) or (ids and entry.model_id not in ids):
            continue
        if entry.nsfw and not flags.get("nsfw"):
            continue
        if flags.get("supportsGeneration") and not entry.can_generate:
            continue
        text = f"{entry.model_name} {entry.version_name} {entry.model_type}".lower()
        if query and query not in text:
            continue
        found.add(entry.model_id)
    return sorted(found, reverse=True)


async def get_preview(request: web.Request) -> web.Response:
    """The preview images ``images[]`` of a version points at (placeholders)."""
    entry, failure = _version_from_path(request)
    if entry is None:
        assert failure is not None
        return failure
    number = ascii_id(request.match_info["n"])
    if number is None or number > 1:
        return _error("Image not found", 404)
    picture = Placeholder(f"{entry.model_name} preview", 1000 + number, number, 256, 384,
                          "jpeg", f"{entry.model_name} {entry.version_name}")  # fmt: skip
    return web.Response(body=render(picture), content_type="image/jpeg")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/model-versions/by-hash/{hash}", get_model_version_by_hash,
                       name="getModelVersionByHash")  # fmt: skip
    app.router.add_get("/api/v1/model-versions/mini/{modelVersionId}", get_model_version_mini,
                       name="getModelVersionMini")  # fmt: skip
    app.router.add_get("/api/v1/model-versions/{modelVersionId}", get_model_version,
                       name="getModelVersion")  # fmt: skip
    app.router.add_get("/api/v1/models", list_models, name="listModels")
    app.router.add_get("/api/v1/models/{modelId}", get_model, name="getModel")
    app.router.add_get("/api/v1/sim-previews/{modelVersionId}/{n}.jpeg", get_preview,
                       name="getPreviewImage")  # fmt: skip
