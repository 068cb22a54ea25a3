"""Loopback servers and an in-memory recorder for engine tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port); yields the base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def write_docs(tmp: Path, arazzo: str, openapi: str) -> Path:
    (tmp / "api.openapi.yaml").write_text(openapi)
    path = tmp / "flow.arazzo.yaml"
    path.write_text(arazzo)
    return path


class MemoryRecorder:
    """Keeps every recorder call, like a store would (latest state, pending request)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.state: dict[str, Any] = {}
        self.pending: dict[str, Any] | None = None
        self.status = "running"

    def run_started(self, run_id: str, **kw: Any) -> None:
        self.calls.append(("run_started", kw))
        self.state = dict(kw["state"])

    def request_sending(self, run_id: str, **kw: Any) -> None:
        self.calls.append(("request_sending", kw))
        self.pending = dict(kw)

    def attempt_finished(self, run_id: str, **kw: Any) -> None:
        self.calls.append(("attempt_finished", kw))
        self.pending = None

    def checkpoint(self, run_id: str, *, state: Mapping[str, Any]) -> None:
        self.calls.append(("checkpoint", {"state": state}))
        self.state = dict(state)

    def run_finished(self, run_id: str, **kw: Any) -> None:
        self.calls.append(("run_finished", kw))
        self.status = kw["status"]

    def resume_state(self) -> dict[str, Any]:
        """What resume reads: the newer of the checkpoint and the pending request's state."""
        if self.pending and self.pending["state"]["seq"] > self.state.get("seq", 0):
            return dict(self.pending["state"])
        return self.state
