"""The simulator's HTTP surface: Site API catalog and Orchestration v2 workflows and blobs.

One origin serves both APIs: ``/api/v1/...`` (site) and ``/v2/consumer/...`` (orchestration).
One middleware plays the network edge and keeps the books: it counts each request by operation
and endpoint class, records every submit body, injects the configured faults (before the real
answer, or on a submit ``after_commit``: once the workflow exists), answers the API's own 429s,
and turns any unexpected exception into a 500 problem so the log still holds the request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from weft.civitai.simulator import blob_api, site_api, workflow_api
from weft.civitai.simulator.config import Fault, SimulatorConfig
from weft.civitai.simulator.faults import (
    delay,
    endpoint_class,
    fault_response,
    pick_fault,
    reset_connection,
)
from weft.civitai.simulator.http import (
    EXTERNAL_ID_KEY,
    STATE_KEY,
    WHATIF_KEY,
    WORKFLOW_ID_KEY,
    Abort,
    bool_param,
    problem,
)
from weft.civitai.simulator.state import Account, LogEntry, SimulatorState, Submission

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger(__name__)


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return exc
    except Abort as abort:
        return abort.response
    except Exception:  # a simulator bug must still be an answer, and show in the logs
        log.exception("simulator handler failed on %s %s", request.method, request.path)
        return problem(500, "The simulator failed on this request.")


@web.middleware
async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    endpoint = endpoint_class(request.method, request.path)
    route = request.match_info.route.name or "notFound"
    state.requests_by_class[endpoint] += 1
    state.requests_by_operation[route] += 1
    account = state.account_for(request.headers.get("Authorization"))
    body = b""
    if endpoint == "submit":
        try:
            body = await request.read()
        except web.HTTPException as exc:  # too large
            return _finish(request, state, exc, None, body, route, account)
    fault = pick_fault(state, endpoint)
    if fault is not None:
        state.faults_injected[fault.kind] += 1
        if fault.kind == "slow":
            await delay(fault)
    response: web.StreamResponse | None
    early = (
        fault is not None
        and fault.kind != "slow"
        and not (fault.after_commit and endpoint == "submit")
    )
    if early:
        assert fault is not None
        response = fault_response(state, fault, endpoint)
    elif request.path.startswith("/v2/consumer/workflows") and state.should_rate_limit():
        response = problem(
            429, "Rate limit exceeded; retry later.",
            headers={"Retry-After": f"{state.config.retry_after:g}"},
        )  # fmt: skip
    else:
        response = await _answer(request, handler)
        if fault is not None and fault.kind != "slow":  # after the workflow was created
            response = fault_response(state, fault, endpoint)
    return _finish(request, state, response, fault, body, route, account)


def _finish(
    request: web.Request,
    state: SimulatorState,
    response: web.StreamResponse | None,
    fault: Fault | None,
    body: bytes,
    route: str,
    account: Account | None,
) -> web.StreamResponse:
    status = response.status if response is not None else 0
    name = account.name if account is not None else None
    external_id = request.get(EXTERNAL_ID_KEY)
    fault_kind = fault.kind if fault is not None else None
    state.request_log.append(
        LogEntry(request.method, request.path, request.query_string, status, name, external_id,
                 route, fault_kind)
    )  # fmt: skip
    if route == "submitWorkflow":
        whatif = request.get(WHATIF_KEY)
        if whatif is None:
            whatif = bool_param(request.query.get("whatif", "false")) is True
        state.submissions.append(
            Submission(name, body, request.query_string, status, whatif, external_id,
                       request.get(WORKFLOW_ID_KEY), fault_kind)
        )  # fmt: skip
    if response is None:  # a reset: no answer at all
        reset_connection(request)
        raise asyncio.CancelledError
    if isinstance(response, web.HTTPException):
        raise response
    return response


def build_app(
    config: SimulatorConfig | None = None, state: SimulatorState | None = None
) -> web.Application:
    """The aiohttp application; pass ``state`` to keep state across restarts of the server."""
    app = web.Application(middlewares=[edge], client_max_size=4 * 1024 * 1024)
    app[STATE_KEY] = state or SimulatorState(config or SimulatorConfig())
    site_api.add_routes(app)
    workflow_api.add_routes(app)
    blob_api.add_routes(app)
    return app
