"""A loopback HTTP server that answers the way the Civitai seed workflow assumes.

The seed (``civitai-model-version-to-generation-workflow.yml``) talks to two APIs: the Site API
(``getModelVersion``: ``GET /model-versions/{id}``, under ``/api/v1`` on the real host) and the
Orchestration API (``submitWorkflow``: ``POST /v2/consumer/workflows``, ``getWorkflow``:
``GET /v2/consumer/workflows/{workflowId}``). This server answers both sets of paths on one port,
with and without the ``/api/v1`` prefix, so a run can point every source at :attr:`base_url`.

A submitted workflow reports ``unassigned`` / ``preparing`` / ``processing`` (cycling) for
``polls_before_terminal`` reads, then ``terminal_status`` for every read after that. A succeeded
workflow carries ``cost.total`` and ``steps[0].jobs[0].result.blobs[0].url``.

Use it from async code::

    async with seed_server(SeedServerConfig(polls_before_terminal=3)) as srv:
        srv.base_url, srv.requests["getWorkflow"]

from sync code (tests, benches)::

    handle = start_seed_server_thread(SeedServerConfig())
    handle.base_url; handle.stop()

or as a process: ``python -m weft.testing.seed_server --port 0 --polls 5`` prints
``listening http://127.0.0.1:PORT`` on stdout once it accepts connections. Two control endpoints
help external drivers: ``GET /_seed/stats`` (request counters, and whether the connection has
``TCP_NODELAY``) and ``POST /_seed/reset`` (clears counters and workflows).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import socket
import sys
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from weft.testing.threaded import LoopThread

NON_TERMINAL = ("unassigned", "preparing", "processing")
TERMINAL = ("succeeded", "failed", "expired", "canceled")
SITE_PREFIX = "/api/v1"

# a valid 1x1 transparent PNG, served for blob URLs
_PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


@dataclass
class SeedServerConfig:
    """How the server behaves.

    ``polls_before_terminal``: reads of a workflow that report a non-terminal status before the
    terminal one. ``terminal_status``: one of :data:`TERMINAL`. ``delay``: seconds of artificial
    latency added to every answer. ``throttle_every``: when > 0, every Nth API request is answered
    ``429`` with ``Retry-After: <retry_after>`` (and not counted as served). ``expected_token``:
    when set, API requests without ``Authorization: Bearer <token>`` get ``401``.
    """

    polls_before_terminal: int = 3
    terminal_status: str = "succeeded"
    delay: float = 0.0
    throttle_every: int = 0
    retry_after: str = "1"
    expected_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    cost: int = 12
    base_model: str = "SDXL 1.0"

    def __post_init__(self) -> None:
        if self.terminal_status not in TERMINAL:
            raise ValueError(
                f"terminal_status must be one of {TERMINAL}, not {self.terminal_status!r}"
            )
        if self.polls_before_terminal < 0:
            raise ValueError("polls_before_terminal must be >= 0")


@dataclass
class _State:
    config: SeedServerConfig
    requests: Counter[str] = field(default_factory=Counter)
    workflows: dict[str, int] = field(default_factory=dict)  # id -> reads so far
    submissions: deque[Any] = field(default_factory=lambda: deque(maxlen=64))
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    api_calls: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.workflows.clear()
        self.submissions.clear()
        self.api_calls = 0


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    # the shape of the seed descriptions' Error schema
    return _json({"code": str(status), "message": message}, status=status, headers=headers)


_STATE_KEY = web.AppKey("seed_state", _State)


async def _gate(request: web.Request, operation: str) -> web.Response | None:
    """Common work before an API answer: delay, throttling, auth, counting."""
    state = request.app[_STATE_KEY]
    config = state.config
    if config.delay > 0:
        await asyncio.sleep(config.delay)
    state.api_calls += 1
    state.requests["total"] += 1
    if config.throttle_every > 0 and state.api_calls % config.throttle_every == 0:
        state.requests["throttled"] += 1
        return _error(429, "Too Many Requests", headers={"Retry-After": config.retry_after})
    expected = config.expected_token
    if expected is not None and request.headers.get("Authorization") != f"Bearer {expected}":
        state.requests["unauthorized"] += 1
        return _error(401, "missing or wrong bearer token")
    state.requests[operation] += 1
    return None


async def get_model_version(request: web.Request) -> web.Response:
    if (early := await _gate(request, "getModelVersion")) is not None:
        return early
    raw = request.match_info["id"]
    try:
        version_id = int(raw)
    except ValueError:
        return _error(400, f"model version id must be an integer, got {raw!r}")
    config = request.app[_STATE_KEY].config
    return _json(
        {
            "id": version_id,
            "modelId": version_id // 10 + 1,
            "air": f"urn:air:sdxl:checkpoint:civitai:{version_id // 10 + 1}@{version_id}",
            "baseModel": config.base_model,
            "name": f"v{version_id}",
        }
    )


async def submit_workflow(request: web.Request) -> web.Response:
    if (early := await _gate(request, "submitWorkflow")) is not None:
        return early
    state = request.app[_STATE_KEY]
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _error(400, "request body must be JSON")
    if not isinstance(body, dict) or not isinstance(body.get("steps"), list) or not body["steps"]:
        return _error(400, "request body must be an object with a non-empty 'steps' array")
    workflow_id = f"wf_{next(state.ids):08d}"
    state.workflows[workflow_id] = 0
    state.submissions.append(body)
    return _json({"id": workflow_id, "status": "unassigned"}, status=202)


async def get_workflow(request: web.Request) -> web.Response:
    if (early := await _gate(request, "getWorkflow")) is not None:
        return early
    state = request.app[_STATE_KEY]
    config = state.config
    workflow_id = request.match_info["workflowId"]
    reads = state.workflows.get(workflow_id)
    if reads is None:
        return _error(404, f"no workflow {workflow_id!r}")
    state.workflows[workflow_id] = reads + 1
    if reads < config.polls_before_terminal:
        status = NON_TERMINAL[reads % len(NON_TERMINAL)]
    else:
        status = config.terminal_status
    # shaped like the orchestration description's Workflow schema (Respect checks it)
    job: dict[str, Any] = {"id": f"{workflow_id}-job-0", "status": status}
    if status == "succeeded":
        blob_id = f"{workflow_id}-0.png"
        blob_url = f"{request.scheme}://{request.host}/v2/consumer/blobs/{blob_id}"
        job["result"] = {"blobs": [{"blobId": blob_id, "url": blob_url, "mimeType": "image/png"}]}
    total = config.cost if status == "succeeded" else 0
    return _json(
        {
            "id": workflow_id,
            "status": status,
            "cost": {"base": total, "total": total, "currency": "BUZZ"},
            "steps": [{"name": "generate", "$type": "imageGen", "status": status, "jobs": [job]}],
        }
    )


async def get_blob(request: web.Request) -> web.Response:
    request.app[_STATE_KEY].requests["getBlob"] += 1
    return web.Response(body=_PNG_1X1, content_type="image/png")


async def stats(request: web.Request) -> web.Response:
    state = request.app[_STATE_KEY]
    nodelay = None
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None:
        nodelay = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    counts = dict(state.requests)
    return _json({"requests": counts, "workflows": len(state.workflows), "tcp_nodelay": nodelay})


async def reset(request: web.Request) -> web.Response:
    request.app[_STATE_KEY].reset()
    return _json({"reset": True})


def make_app(config: SeedServerConfig) -> tuple[web.Application, _State]:
    """The aiohttp application (for embedding) and its mutable state."""
    state = _State(config)
    app = web.Application()
    app[_STATE_KEY] = state
    for prefix in ("", SITE_PREFIX):
        app.router.add_get(prefix + "/model-versions/{id}", get_model_version)
    app.router.add_post("/v2/consumer/workflows", submit_workflow)
    app.router.add_get("/v2/consumer/workflows/{workflowId}", get_workflow)
    app.router.add_get("/v2/consumer/blobs/{blobId}", get_blob)
    app.router.add_get("/_seed/stats", stats)
    app.router.add_post("/_seed/reset", reset)
    return app, state


class SeedServer:
    """A running server: :attr:`base_url`, :attr:`requests` counters, submitted bodies."""

    def __init__(self, config: SeedServerConfig) -> None:
        self.config = config
        self._app, self._state = make_app(config)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def servers(self) -> dict[str, str]:
        """Server overrides for the seed's two source descriptions."""
        return {"civitaiSiteApi": self.base_url, "civitaiOrchestrationApi": self.base_url}

    @property
    def requests(self) -> Counter[str]:
        """Counts per operation (``getModelVersion``, ``submitWorkflow``, ``getWorkflow``,
        ``getBlob``), plus ``total``, ``throttled`` and ``unauthorized``."""
        return self._state.requests

    @property
    def submissions(self) -> list[Any]:
        """The most recent (up to 64) submitted workflow bodies, oldest first."""
        return list(self._state.submissions)

    @property
    def workflow_reads(self) -> dict[str, int]:
        return dict(self._state.workflows)

    def reset(self) -> None:
        self._state.reset()

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, backlog=1024)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@contextlib.asynccontextmanager
async def seed_server(config: SeedServerConfig | None = None) -> AsyncIterator[SeedServer]:
    """Run a :class:`SeedServer` on the current event loop for the ``async with`` block."""
    server = SeedServer(config or SeedServerConfig())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class SeedServerThread:
    """A :class:`SeedServer` running on its own event loop in a daemon thread."""

    def __init__(self, config: SeedServerConfig) -> None:
        self.server = SeedServer(config)
        self._host: LoopThread[None] = LoopThread(
            "seed-server", self.server.start, lambda _: self.server.stop()
        )

    def start(self) -> SeedServerThread:
        self._host.start()
        return self

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def servers(self) -> dict[str, str]:
        return self.server.servers

    @property
    def requests(self) -> Counter[str]:
        return self.server.requests

    def stop(self) -> None:
        self._host.stop()

    def __enter__(self) -> SeedServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_seed_server_thread(config: SeedServerConfig | None = None) -> SeedServerThread:
    """Start a server in a background thread; returns once it accepts connections."""
    return SeedServerThread(config or SeedServerConfig()).start()


async def _serve_forever(config: SeedServerConfig) -> None:
    server = SeedServer(config)
    await server.start()
    print(f"listening {server.base_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m weft.testing.seed_server",
        description="Serve the Civitai seed's Site and Orchestration paths on 127.0.0.1.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--polls", type=int, default=3, help="non-terminal reads per workflow")
    parser.add_argument("--terminal", default="succeeded", choices=TERMINAL)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to each answer")
    parser.add_argument("--throttle-every", type=int, default=0, help="every Nth request -> 429")
    parser.add_argument("--retry-after", default="1", help="Retry-After value sent with 429")
    parser.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN'")
    args = parser.parse_args(argv)
    config = SeedServerConfig(
        polls_before_terminal=args.polls,
        terminal_status=args.terminal,
        delay=args.delay,
        throttle_every=args.throttle_every,
        retry_after=args.retry_after,
        expected_token=args.token,
        host=args.host,
        port=args.port,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
