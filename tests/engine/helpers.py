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

    def flush(self) -> None:
        return None

    def ensure_started(self, run_id: str) -> None:
        return None

    def resume_state(self) -> dict[str, Any]:
        """What resume reads: the newer of the checkpoint and the pending request's state."""
        if self.pending and self.pending["state"]["seq"] > self.state.get("seq", 0):
            return dict(self.pending["state"])
        return self.state


class Seen:
    """One request a loopback server received: exactly what came over the wire."""

    def __init__(self, method: str, path: str, query: str, headers: Any, body: bytes) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body

    @property
    def form(self) -> dict[str, list[str]]:
        from urllib.parse import parse_qs

        return parse_qs(self.body.decode(), keep_blank_values=True)

    @property
    def json(self) -> Any:
        import orjson

        return orjson.loads(self.body)

    @property
    def cookies(self) -> dict[str, str]:
        from http.cookies import SimpleCookie

        jar: SimpleCookie = SimpleCookie()
        jar.load(self.headers.get("Cookie", ""))
        return {k: m.value for k, m in jar.items()}

    def __repr__(self) -> str:
        return f"Seen({self.method} {self.path}?{self.query})"


def recording_app() -> tuple[web.Application, list[Seen]]:
    """An application whose middleware records every request before its handler runs."""
    seen: list[Seen] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        seen.append(
            Seen(
                request.method,
                request.path,
                request.rel_url.raw_query_string,
                request.headers.copy(),
                body,
            )
        )
        return await handler(request)

    return web.Application(middlewares=[record]), seen


def copy_example(src: Path, tmp: Path, replace: Mapping[str, str] | None = None) -> Path:
    """Copy a reference document into ``tmp`` (text replacements applied) and return it."""
    text = src.read_text()
    for old, new in (replace or {}).items():
        assert old in text, f"{old!r} not in {src.name}"
        text = text.replace(old, new)
    out = tmp / src.name
    out.write_text(text)
    return out
