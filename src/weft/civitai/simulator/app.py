"""The simulator's HTTP surface: Site API catalog and Orchestration v2 workflows and blobs.

One origin serves both APIs: ``/api/v1/...`` (site) and ``/v2/consumer/...`` (orchestration).
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from weft.civitai.simulator.air import parse_air
from weft.civitai.simulator.blobs import BlobSpec
from weft.civitai.simulator.config import SimulatorConfig
from weft.civitai.simulator.images import content_type, render
from weft.civitai.simulator.lifecycle import (
    TERMINAL,
    SimWorkflow,
    image_size,
    iso,
    new_ulid,
    workflow_json,
)
from weft.civitai.simulator.pricing import image_gen_cost
from weft.civitai.simulator.state import Account, LogEntry, SimulatorState
from weft.civitai.simulator.validation import validate_template

STATE_KEY = web.AppKey("state", SimulatorState)
EXTERNAL_ID_KEY = web.RequestKey("external_id", str)
PROBLEM_TYPES = {
    400: (
        "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "One or more validation errors occurred.",
    ),
    401: ("https://tools.ietf.org/html/rfc9110#section-15.5.2", "Unauthorized"),
    403: ("https://tools.ietf.org/html/rfc9110#section-15.5.4", "Forbidden"),
    404: ("https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not Found"),
    429: ("https://tools.ietf.org/html/rfc6585#section-4", "Too Many Requests"),
}  # fmt: skip
INLINE_RENDER_PIXELS = 128 * 128
"""Pictures up to this many pixels are rendered on the event loop (well under a millisecond)."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Abort(Exception):
    """Stops a handler with a prepared response (problem details)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def problem(
    status: int,
    detail: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    type_, title = PROBLEM_TYPES[status]
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body["traceId"] = "00-" + secrets.token_hex(16) + "-" + secrets.token_hex(8) + "-00"
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/problem+json",
        headers=headers,
    )  # fmt: skip


def _state(request: web.Request) -> SimulatorState:
    return request.app[STATE_KEY]


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


@web.middleware
async def log_and_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = _state(request)
    account = state.account_for(request.headers.get("Authorization"))
    limited_path = request.path.startswith("/v2/consumer/workflows")
    if limited_path and state.should_rate_limit():
        response: web.StreamResponse = problem(
            429, "Rate limit exceeded; retry later.",
            headers={"Retry-After": f"{state.config.retry_after:g}"},
        )  # fmt: skip
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        except Abort as abort:
            response = abort.response
    state.request_log.append(
        LogEntry(
            request.method, request.path, request.query_string, response.status,
            account.name if account else None, request.get(EXTERNAL_ID_KEY),
        )
    )  # fmt: skip
    if isinstance(response, web.HTTPException):
        raise response
    return response


# ---- Site API -------------------------------------------------------------------------------


def _site_headers(request: web.Request) -> dict[str, str]:
    if _state(request).account_for(request.headers.get("Authorization")) is None:
        return {"Cache-Control": "public, s-maxage=300"}
    return {"Cache-Control": "private, no-store"}


def _int_id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 12 else None


async def get_model_version(request: web.Request) -> web.Response:
    version_id = _int_id(request.match_info["modelVersionId"])
    if version_id is None:
        return _json({"error": "Invalid id"}, 400)
    state = _state(request)
    entry = state.catalog.published_version(version_id)
    if entry is None:
        return _json({"error": "Model not found"}, 404)
    body = state.catalog.version_bytes(entry, _origin(request))
    return web.Response(body=body, content_type="application/json", headers=_site_headers(request))


async def get_model_version_by_hash(request: web.Request) -> web.Response:
    state = _state(request)
    entry = state.catalog.by_hash(request.match_info["hash"])
    if entry is None:
        return _json({"error": "Model not found"}, 404)
    return _json(
        state.catalog.version_json(entry, _origin(request)), headers=_site_headers(request)
    )


async def get_model(request: web.Request) -> web.Response:
    model_id = _int_id(request.match_info["modelId"])
    if model_id is None:
        return _json({"error": "Invalid id"}, 400)
    body = _state(request).catalog.model_json(model_id, _origin(request))
    if body is None:
        return _json({"error": f"No model with id {model_id}"}, 404)
    return _json(body, headers=_site_headers(request))


# ---- Orchestration --------------------------------------------------------------------------


def _authorize(request: web.Request) -> Account:
    account = _state(request).account_for(request.headers.get("Authorization"))
    if account is None:
        raise Abort(problem(401, "A valid bearer token is required."))
    return account


def _wait_param(request: web.Request) -> int:
    raw = request.query.get("wait", "0")
    try:
        return max(0, int(raw))
    except ValueError:
        raise Abort(problem(400, errors={"wait": [f"The value '{raw}' is not valid."]})) from None


async def _respond_after_wait(request: web.Request, wf: SimWorkflow, wait: int) -> web.Response:
    state = _state(request)
    now = time.monotonic()
    if wait > 0 and not wf.is_terminal(now):
        await wf.wait_for_change(now + min(wait, state.config.wait_cap) * state.config.wait_unit)
        now = time.monotonic()
    status = wf.status_at(now)[0]
    terminal = status in TERMINAL
    urls = _image_urls(request, wf) if status == "succeeded" else None
    body = workflow_json(wf, now, urls)
    return _json(body, 200 if terminal or (wait == 0 and request.method == "GET") else 202)


def _image_urls(request: web.Request, wf: SimWorkflow) -> list[tuple[str, str | None]]:
    state = _state(request)
    expires = math.floor(time.time() + state.config.blob_url_ttl)
    origin = _origin(request)
    return [
        (f"{origin}/v2/consumer/blobs/content/{state.signer.token(b, expires)}", iso(expires))
        for b in wf.blob_ids
    ]


async def _read_json(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise Abort(
            problem(400, errors={"$": [f"The request body is not valid JSON: {exc}"]})
        ) from None


async def submit_workflow(request: web.Request) -> web.Response:
    account = _authorize(request)
    state = _state(request)
    wait = _wait_param(request)
    body = await _read_json(request)
    errors = validate_template(body)
    if errors:
        return problem(400, errors=errors)
    external_id = body.get("externalId")
    whatif = request.query.get("whatif", "false").lower() == "true"
    if external_id:
        request[EXTERNAL_ID_KEY] = external_id
        state.submissions_by_external_id[external_id] += 1
        existing = state.by_external_id.get((account.name, external_id))
        if existing is not None and existing in state.workflows:
            return await _respond_after_wait(request, state.workflows[existing], wait)
    inp = body["steps"][0]["input"]
    model_errors = _check_model(state, inp)
    if model_errors:
        return problem(400, errors=model_errors)
    cost = image_gen_cost(inp, body.get("tips"))
    if whatif:
        insufficient = account.balance < cost["total"]
        preview = {
            "cost": cost,
            "transactions": {"list": [], "insufficientBuzz": insufficient},
            "status": "unassigned",
        }
        return _json(preview)
    if account.balance < cost["total"]:
        return _json(
            f"Insufficient buzz: this workflow costs {cost['total']} Buzz and the account has "
            f"{account.balance}.",
            403,
        )
    account.balance -= cost["total"]
    account.charges.append(cost["total"])
    wf = _create(state, account, body, cost)
    return await _respond_after_wait(request, wf, wait)


def _check_model(state: SimulatorState, inp: dict[str, Any]) -> dict[str, list[str]]:
    where = "steps[0].input.model"
    entry = state.catalog.by_air(str(inp["model"]))
    if entry is None:
        return {where: [f"The resource '{inp['model']}' could not be found."]}
    air = parse_air(entry.air)
    if entry.model_type != "Checkpoint":
        return {where: [f"The resource '{entry.air}' is a {entry.model_type}, not a checkpoint."]}
    if air is None or air.ecosystem != inp["ecosystem"]:
        return {where: [f"The resource '{entry.air}' does not belong to ecosystem "
                        f"'{inp['ecosystem']}'."]}  # fmt: skip
    return {}


def _create(
    state: SimulatorState, account: Account, body: dict[str, Any], cost: dict[str, Any]
) -> SimWorkflow:
    cfg = state.config
    wall = time.time()
    inp = body["steps"][0]["input"]
    seed = inp.get("seed")
    wf = SimWorkflow(
        id="wf_" + new_ulid(wall),
        account=account.name,
        body=body,
        cost=cost,
        seed=int(seed) if seed is not None else secrets.randbelow(2**32),
        created_mono=time.monotonic(),
        created_wall=wall,
        durations=(cfg.unassigned, cfg.preparing, cfg.scheduled, cfg.processing),
        outcome=cfg.outcome,
        external_id=body.get("externalId"),
    )
    width, height = image_size(inp)
    fmt = str(inp.get("outputFormat") or "jpeg")
    for index in range(int(inp.get("quantity") or 1)):
        blob_id = new_ulid(wall) + {"png": ".png", "jpeg": ".jpeg", "webP": ".webp"}[fmt]
        state.blobs[blob_id] = BlobSpec(
            blob_id, wf.id, str(inp.get("prompt", "")), wf.seed, index, width, height, fmt
        )
        wf.blob_ids.append(blob_id)
    state.workflows[wf.id] = wf
    if wf.external_id:
        state.by_external_id[(account.name, wf.external_id)] = wf.id
    return wf


def _owned(request: web.Request, account: Account) -> SimWorkflow:
    wf = _state(request).workflows.get(request.match_info["workflowId"])
    if wf is None or wf.account != account.name:
        raise Abort(problem(404, f"Workflow {request.match_info['workflowId']} was not found."))
    return wf


async def get_workflow(request: web.Request) -> web.Response:
    account = _authorize(request)
    wait = _wait_param(request)
    return await _respond_after_wait(request, _owned(request, account), wait)


async def update_workflow(request: web.Request) -> web.Response:
    account = _authorize(request)
    wf = _owned(request, account)
    body = await _read_json(request)
    if not isinstance(body, dict):
        return problem(400, errors={"$": ["The request body must be a JSON object."]})
    allowed = {"status", "metadata", "tags", "allowMatureContent"}
    unknown = {k: [f"Could not find member '{k}' on object of type 'UpdateWorkflowRequest'."]
               for k in body if k not in allowed}  # fmt: skip
    if unknown:
        return problem(400, errors=unknown)
    if "status" in body and body["status"] != "canceled":
        return problem(400, errors={"status": [f"The value '{body['status']}' is not valid."]})
    now = time.monotonic()
    if body.get("status") == "canceled" and not wf.is_terminal(now):
        wf.cancel(now)
    if isinstance(body.get("metadata"), dict):
        wf.body["metadata"] = body["metadata"]
    if isinstance(body.get("tags"), list):
        wf.body["tags"] = body["tags"]
    return web.Response(status=204)


async def delete_workflow(request: web.Request) -> web.Response:
    account = _authorize(request)
    wf = _owned(request, account)
    del _state(request).workflows[wf.id]
    return web.Response(status=204)


async def query_workflows(request: web.Request) -> web.Response:
    account = _authorize(request)
    state = _state(request)
    try:
        take = max(1, min(int(request.query.get("take", "100")), 1000))
        start = int(request.query.get("cursor") or 0)
    except ValueError:
        return problem(400, errors={"cursor": ["The cursor or take value is not valid."]})
    mine = [wf for wf in state.workflows.values() if wf.account == account.name]
    mine.sort(key=lambda w: w.created_wall, reverse=request.query.get("ascending") != "true")
    page = mine[start : start + take]
    now = time.monotonic()
    items = [
        workflow_json(
            wf, now, _image_urls(request, wf) if wf.status_at(now)[0] == "succeeded" else None
        )
        for wf in page
    ]
    next_cursor = str(start + take) if start + take < len(mine) else ""
    return _json({"next": next_cursor, "items": items})


async def get_blob(request: web.Request) -> web.Response:
    account = _authorize(request)
    state = _state(request)
    spec = state.blobs.get(request.match_info["blobId"])
    if spec is None or state.workflows.get(spec.workflow_id) is None:
        return problem(404, "Blob not found.")
    if state.workflows[spec.workflow_id].account != account.name:
        return problem(403, "The blob belongs to another account.")
    expires = math.floor(time.time() + state.config.blob_url_ttl)
    location = (
        f"{_origin(request)}/v2/consumer/blobs/content/{state.signer.token(spec.blob_id, expires)}"
    )
    raise web.HTTPPermanentRedirect(location)


async def get_blob_content(request: web.Request) -> web.Response:
    state = _state(request)
    blob_id, reason = state.signer.verify(request.match_info["token"], time.time())
    if blob_id is None:
        return problem(403, reason)
    spec = state.blobs.get(blob_id)
    if spec is None:
        return problem(404, "Blob not found.")
    data = state.image_cache.get(blob_id)
    if data is None:
        args = (spec.prompt, spec.seed, spec.index, spec.width, spec.height, spec.fmt)
        if spec.width * spec.height <= INLINE_RENDER_PIXELS:
            data = render(*args)  # a thread hop would cost more than the picture
        else:
            data = await asyncio.to_thread(render, *args)
        state.image_cache[blob_id] = data
    return web.Response(body=data, content_type=content_type(spec.fmt),
                        headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip


def build_app(
    config: SimulatorConfig | None = None, state: SimulatorState | None = None
) -> web.Application:
    """The aiohttp application; pass ``state`` to keep state across restarts of the server."""
    app = web.Application(middlewares=[log_and_limit], client_max_size=4 * 1024 * 1024)
    app[STATE_KEY] = state or SimulatorState(config or SimulatorConfig())
    app.router.add_get("/api/v1/model-versions/by-hash/{hash}", get_model_version_by_hash)
    app.router.add_get("/api/v1/model-versions/{modelVersionId}", get_model_version)
    app.router.add_get("/api/v1/models/{modelId}", get_model)
    app.router.add_post("/v2/consumer/workflows", submit_workflow)
    app.router.add_get("/v2/consumer/workflows", query_workflows)
    app.router.add_get("/v2/consumer/workflows/{workflowId}", get_workflow)
    app.router.add_put("/v2/consumer/workflows/{workflowId}", update_workflow)
    app.router.add_delete("/v2/consumer/workflows/{workflowId}", delete_workflow)
    app.router.add_get("/v2/consumer/blobs/content/{token}", get_blob_content)
    app.router.add_get("/v2/consumer/blobs/{blobId}", get_blob)
    return app
