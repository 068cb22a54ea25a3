"""The Orchestration API's workflows (``/v2/consumer/workflows``): submit (and ``whatif``),
get (with the ``wait`` long-poll), update (cancel), delete, query.

A submit is validated (schema, then each resource against the catalog by role and family),
priced, checked against the token (scope, mature content) and the Buzz balance, and only then
created and charged; ``externalId`` makes it idempotent per account, whatif previews included.
"""

from __future__ import annotations

import math
import secrets
import time
from typing import Any

import orjson
from aiohttp import web

from weft.civitai.simulator.blobs import BlobSpec
from weft.civitai.simulator.http import (
    EXTERNAL_ID_KEY,
    WHATIF_KEY,
    WORKFLOW_ID_KEY,
    Abort,
    bool_param,
    int32_param,
    json_response,
    not_valid,
    origin,
    problem,
    state_of,
)
from weft.civitai.simulator.images import Placeholder
from weft.civitai.simulator.lifecycle import (
    TERMINAL,
    SimWorkflow,
    image_size,
    iso,
    new_ulid,
    workflow_json,
)
from weft.civitai.simulator.pricing import image_gen_cost
from weft.civitai.simulator.resources import Resources, check_resources
from weft.civitai.simulator.state import Account, SimulatorState
from weft.civitai.simulator.validation import ImageGenStep, validate_template

WRITE_SCOPE = "AIServicesWrite"
_EXTENSIONS = {"png": ".png", "jpeg": ".jpeg", "webP": ".webp"}


def authorize(request: web.Request, *, write: bool = False) -> Account:
    """The caller's account (401 without a known token; 403 when a write lacks the scope)."""
    account = state_of(request).account_for(request.headers.get("Authorization"))
    if account is None:
        raise Abort(problem(401, "A valid bearer token is required."))
    if write and WRITE_SCOPE not in account.scopes:
        raise Abort(problem(403, f"The token lacks the {WRITE_SCOPE} scope (AI services): it "
                                 "may read workflows but not submit, change or delete them. "
                                 "Create a token with AI services access."))  # fmt: skip
    return account


def _query_bool(request: web.Request, name: str) -> bool:
    raw = request.query.get(name)
    if raw is None:
        return False
    value = bool_param(raw)
    if value is None:
        raise not_valid(name, raw)
    return value


def _wait_param(request: web.Request) -> int:
    raw = request.query.get("wait")
    if raw is None:
        return 0
    state = state_of(request)
    if state.config.wait_boolean and request.method == "GET":
        flag = bool_param(raw)
        if flag is None:
            raise not_valid("wait", raw)
        return state.config.wait_cap if flag else 0
    value = int32_param(raw)
    if value is None:
        raise not_valid("wait", raw)
    return max(0, value)


async def _read_json(request: web.Request) -> Any:
    kind = request.headers.get("Content-Type")
    if kind is not None and "json" not in kind.split(";")[0].lower():
        raise Abort(problem(415, f"Content-Type '{kind[:100]}' is not supported; send JSON."))
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise Abort(
            problem(400, errors={"$": [f"The request body is not valid JSON: {exc}"]})
        ) from None


def _cost_headers(
    cost: dict[str, Any], split: list[tuple[str, int]], insufficient: bool
) -> dict[str, str]:
    return {
        "X-Civitai-Cost-Total": str(cost["total"]),
        "X-Civitai-Cost-By-Currency": ";".join(f"{c}={a}" for c, a in split),
        "X-Civitai-Insufficient-Buzz": "true" if insufficient else "false",
    }


def _debits(wf_id: str, split: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [
        {"type": "debit", "amount": amount, "id": f"tx_{wf_id[3:]}_{n}", "accountType": currency}
        for n, (currency, amount) in enumerate(split)
    ]


async def submit_workflow(request: web.Request) -> web.Response:
    state = state_of(request)
    account = authorize(request, write=True)
    whatif = _query_bool(request, "whatif")
    request[WHATIF_KEY] = whatif
    wait = _wait_param(request)
    hide = _query_bool(request, "hideMatureContent")
    body = await _read_json(request)
    errors, steps = validate_template(
        body, flux1_components_required=state.config.flux1_components_required
    )
    if errors:
        return problem(400, errors=errors)
    step = steps[0]
    errors, resources = check_resources(state.catalog, step)
    if errors:
        return problem(400, errors=errors)
    external_id = body.get("externalId")
    if external_id:
        request[EXTERNAL_ID_KEY] = external_id
        state.submissions_by_external_id[external_id] += 1
        existing = state.workflows.get(state.by_external_id.get((account.name, external_id), ""))
        if existing is not None:  # idempotent, whatif previews included
            request[WORKFLOW_ID_KEY] = existing.id
            return await respond_after_wait(request, existing, wait, hide)
    mature = body.get("allowMatureContent") is True or resources.mature
    if mature and not account.allow_mature:
        return json_response("Mature content is not allowed for this token: the workflow asks "
                             "for mature content or uses a mature resource; the account may "
                             "not generate it.", 403)  # fmt: skip
    cost = image_gen_cost(step.variant.pricing, step.input, step.variant.defaults, body.get("tips"))
    yellow_only = body.get("allowMatureContent") is True
    split, covered = account.plan(cost["total"], body.get("currencies"), yellow_only)
    if whatif:
        wf = _create(state, account, body, step, resources, cost, preview=True)
        wf.transactions, wf.insufficient_buzz = _debits(wf.id, split), not covered
        request[WORKFLOW_ID_KEY] = wf.id
        answer = workflow_json(wf, time.monotonic(), None)
        return json_response(answer, 200, _cost_headers(cost, split, not covered))
    if not covered:
        text = (
            f"Insufficient buzz: this workflow costs {cost['total']} Buzz and the account has "
            f"{account.balance} that can pay for it."
        )
        return json_response(text, 403)
    account.debit(split)
    wf = _create(state, account, body, step, resources, cost, preview=False)
    wf.transactions = _debits(wf.id, split)
    wf.mature = mature
    request[WORKFLOW_ID_KEY] = wf.id
    return await respond_after_wait(request, wf, wait, hide)


def _placeholder_model(step: ImageGenStep, resources: Resources) -> str:
    entry = resources.checkpoint
    if entry is not None:
        return f"{entry.model_name} {entry.version_name} ({entry.air})"
    inp = step.input
    version = inp.get("modelVersion") or step.variant.defaults.get("modelVersion")
    return " ".join(str(p) for p in ("flux2", inp.get("model"), version) if p)


def _create(
    state: SimulatorState,
    account: Account,
    body: dict[str, Any],
    step: ImageGenStep,
    resources: Resources,
    cost: dict[str, Any],
    *,
    preview: bool,
) -> SimWorkflow:
    cfg = state.config
    wall = time.time()
    inp = step.input
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
        user_id=account.user_id,
        preview=preview,
    )
    state.workflows[wf.id] = wf
    if wf.external_id:
        state.by_external_id[(account.name, wf.external_id)] = wf.id
    if preview:
        return wf
    width, height = image_size(inp)
    fmt = str(inp.get("outputFormat") or "jpeg")
    model = _placeholder_model(step, resources)
    loras = tuple(f"{entry.model_name}:{strength:g}" for entry, strength in resources.loras)
    quantity = int(inp.get("quantity") or 1)
    for index in range(quantity):
        blob_id = new_ulid(wall) + _EXTENSIONS[fmt]
        picture = Placeholder(str(inp.get("prompt", "")), wf.seed, index, width, height, fmt,
                              model, loras)  # fmt: skip
        state.blobs[blob_id] = BlobSpec(blob_id, wf.id, picture, _blocked(state, index))
        wf.blob_ids.append(blob_id)
    return wf


def _blocked(state: SimulatorState, index: int) -> str | None:
    cfg = state.config
    hit = index in cfg.blocked_indexes
    if cfg.blocked_rate > 0 and state.blocked_rng.random() < cfg.blocked_rate:
        hit = True
    return cfg.blocked_reason if hit else None


def image_blobs(request: web.Request, wf: SimWorkflow, hide_mature: bool) -> list[dict[str, Any]]:
    """``steps[0].output.images`` of a succeeded workflow, each URL freshly signed."""
    state = state_of(request)
    cfg = state.config
    now = time.time()
    expires = math.floor(now + cfg.blob_url_ttl)
    base = origin(request)
    ready = cfg.unavailable_seconds <= 0 or (
        now >= wf.created_wall + wf.terminal_offset() + cfg.unavailable_seconds
    )
    out = []
    for blob_id in wf.blob_ids:
        spec = state.blobs[blob_id]
        image: dict[str, Any] = {
            "type": "image",
            "id": blob_id,
            "available": True,
            "url": f"{base}/v2/consumer/blobs/content/{state.signer.token(blob_id, expires)}",
            "urlExpiresAt": iso(expires),
            "jobId": f"{wf.id[3:]}-job0",
            "nsfwLevel": "x" if wf.mature else "pg",
            "width": spec.picture.width,
            "height": spec.picture.height,
        }
        if spec.blocked is not None or not ready or (hide_mature and wf.mature):
            image |= {"available": spec.blocked is None and ready, "url": None,
                      "urlExpiresAt": None}  # fmt: skip
            if spec.blocked is not None:
                image["blockedReason"] = spec.blocked
        out.append(image)
    return out


async def respond_after_wait(
    request: web.Request, wf: SimWorkflow, wait: int, hide_mature: bool = False
) -> web.Response:
    state = state_of(request)
    now = time.monotonic()
    if wait > 0 and not wf.is_terminal(now):
        await wf.wait_for_change(now + min(wait, state.config.wait_cap) * state.config.wait_unit)
        now = time.monotonic()
    status = wf.status_at(now)[0]
    terminal = status in TERMINAL
    images = image_blobs(request, wf, hide_mature) if status == "succeeded" else None
    body = workflow_json(wf, now, images)
    return json_response(body, 200 if terminal or (wait == 0 and request.method == "GET") else 202)


def _owned(request: web.Request, account: Account) -> SimWorkflow:
    wf_id = request.match_info["workflowId"]
    wf = state_of(request).workflows.get(wf_id)
    if wf is None or wf.account != account.name:
        shown = wf_id if len(wf_id) <= 64 else wf_id[:61] + "..."
        raise Abort(problem(404, f"Workflow {shown} was not found."))
    return wf


async def get_workflow(request: web.Request) -> web.Response:
    account = authorize(request)
    wait = _wait_param(request)
    hide = _query_bool(request, "hideMatureContent")
    return await respond_after_wait(request, _owned(request, account), wait, hide)


async def update_workflow(request: web.Request) -> web.Response:
    account = authorize(request, write=True)
    wf = _owned(request, account)
    body = await _read_json(request)
    if not isinstance(body, dict):
        return problem(400, errors={"$": ["The request body must be a JSON object."]})
    allowed = {"status", "metadata", "tags", "allowMatureContent"}
    errors = {k: [f"Could not find member '{k}' on object of type 'UpdateWorkflowRequest'."]
              for k in body if k not in allowed}  # fmt: skip
    if "status" in body and body["status"] != "canceled":
        errors["status"] = [f"The value '{body['status']}' is not valid."]
    for name, kind in (("metadata", dict), ("tags", list), ("allowMatureContent", bool)):
        if body.get(name) is not None and not isinstance(body[name], kind):
            errors[name] = [f"The field {name} is not valid."]
    if errors:
        return problem(400, errors=errors)
    now = time.monotonic()
    if body.get("status") == "canceled" and not wf.is_terminal(now):
        wf.cancel(now)
    if isinstance(body.get("metadata"), dict):
        wf.body["metadata"] = body["metadata"]
    if isinstance(body.get("tags"), list):
        wf.body["tags"] = body["tags"]
    return web.Response(status=204)


async def delete_workflow(request: web.Request) -> web.Response:
    account = authorize(request, write=True)
    wf = _owned(request, account)
    del state_of(request).workflows[wf.id]
    return web.Response(status=204)


async def query_workflows(request: web.Request) -> web.Response:
    account = authorize(request)
    state = state_of(request)
    take_raw, cursor_raw = request.query.get("take", "100"), request.query.get("cursor") or "0"
    take, start = int32_param(take_raw), int32_param(cursor_raw)
    if take is None:
        raise not_valid("take", take_raw)
    if start is None or start < 0:
        raise not_valid("cursor", cursor_raw)
    take = max(1, min(take, 1000))
    ascending = _query_bool(request, "ascending")
    hide = request.query.get("hideMatureContent") is None or _query_bool(
        request, "hideMatureContent"
    )
    mine = [wf for wf in state.workflows.values() if wf.account == account.name and not wf.preview]
    mine.sort(key=lambda w: w.created_wall, reverse=not ascending)
    page = mine[start : start + take]
    now = time.monotonic()
    items = [
        workflow_json(
            wf, now, image_blobs(request, wf, hide) if wf.status_at(now)[0] == "succeeded" else None
        )
        for wf in page
    ]
    next_cursor = str(start + take) if start + take < len(mine) else ""
    return json_response({"next": next_cursor, "items": items})


def add_routes(app: web.Application) -> None:
    base = "/v2/consumer/workflows"
    app.router.add_post(base, submit_workflow, name="submitWorkflow")
    app.router.add_get(base, query_workflows, name="queryWorkflows")
    app.router.add_get(base + "/{workflowId}", get_workflow, name="getWorkflow")
    app.router.add_put(base + "/{workflowId}", update_workflow, name="updateWorkflow")
    app.router.add_delete(base + "/{workflowId}", delete_workflow, name="deleteWorkflow")
