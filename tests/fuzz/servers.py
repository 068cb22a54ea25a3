"""Loopback servers for the fuzz suite, each on its own event loop in a thread (the command
under test runs its own loop in the main thread).

- :class:`EchoServer` (aiohttp) answers every request with the request itself: its method,
  URL, headers and body, as JSON (``error``/``detail``/``echo``), an HTML page or plain text,
  with the status the path asks for (``/echo/{status}``), and the ``Authorization`` header
  echoed in ``X-Echo``.
- :class:`AnswerServer` (raw sockets) answers with whatever bytes an :class:`Answer` says: any
  status line, headers (huge, duplicated, wrong ``Content-Length``), bodies (malformed JSON,
  truncated, HTML error pages, the request echoed), or a closed connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web

from weft.testing.threaded import LoopThread


def _echo_text(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> str:
    lines = [f"{method} {url}"] + [f"{k}: {v}" for k, v in headers]
    return "\n".join(lines) + "\n\n" + body.decode("utf-8", "replace")


class EchoServer:
    """``/{any}/{status}[?as=json|html|text|bin]``: the request, echoed, with that status."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._thread: LoopThread[tuple[web.AppRunner, str]] = LoopThread(
            "echo-server", self._start, self._stop
        )
        self.base_url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = list(request.headers.items())
        text = _echo_text(request.method, str(request.url), headers, body)
        self.requests.append(text)
        raw_status = request.match_info.get("status", "200")
        status = int(raw_status) if raw_status.isdigit() else 200
        style = request.query.get("as", "json")
        extra = {"X-Echo": request.headers.get("Authorization", "")}
        if style == "html":
            page = f"<html><head><title>{status} {text}</title></head><body>{text}</body></html>"
            return web.Response(status=status, text=page, content_type="text/html", headers=extra)
        if style == "text":
            return web.Response(status=status, text=text, headers=extra)
        if style == "bin":  # a body weft keeps as bytes
            return web.Response(
                status=status, body=text.encode(), content_type="image/png", headers=extra
            )
        payload = {
            "ok": False,
            "error": text,
            "detail": text,
            "errors": {"request": [text]},
            "echo": {
                "method": request.method,
                "url": str(request.url),
                "headers": dict(request.headers),
                "body": body.decode("utf-8", "replace"),
            },
        }
        return web.json_response(payload, status=status, headers=extra)

    async def _start(self) -> tuple[web.AppRunner, str]:
        app = web.Application()
        app.router.add_route("*", "/{kind}/{status}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner, f"http://127.0.0.1:{port}"

    @staticmethod
    async def _stop(started: tuple[web.AppRunner, str]) -> None:
        await started[0].cleanup()

    def __enter__(self) -> EchoServer:
        _, self.base_url = self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.stop()


# -- raw answers ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """One HTTP answer, as bytes on the wire."""

    status: int = 200
    reason: str = "OK"
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    body: bytes = b"{}"
    # the Content-Length header: "auto" (the body's), None (none: the body ends with the
    # connection), or a number (a lie)
    length: int | str | None = "auto"
    echo: str | None = None  # append the request: "json" (in a JSON string), "raw", "header"
    truncate: int | None = None  # send only this many bytes of the whole answer
    raw: bytes | None = None  # send exactly these bytes instead
    close_first: bool = False  # close the connection without answering

    def encode(self, request: bytes) -> bytes:
        if self.raw is not None:
            return self.raw
        body = self.body
        headers = list(self.headers)
        if self.echo == "json":
            body += json.dumps({"echo": request.decode("utf-8", "replace")}).encode()
        elif self.echo == "raw":
            body += request
        elif self.echo == "header":
            first = request.split(b"\r\n\r\n", 1)[0].decode("latin-1").replace("\r\n", " | ")
            headers.append(("X-Echo", first[:4000]))
        if self.length == "auto":
            headers.append(("Content-Length", str(len(body))))
        elif isinstance(self.length, int):
            headers.append(("Content-Length", str(self.length)))
        head = f"HTTP/1.1 {self.status} {self.reason}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers)
        head += "Connection: close\r\n\r\n"
        data = head.encode("latin-1", "replace") + body
        return data if self.truncate is None else data[: self.truncate]


@dataclass
class _Script:
    answers: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=Answer)


class AnswerServer:
    """Answers each request with the next scripted :class:`Answer` (then the default one),
    and keeps every request it read."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self._script = _Script()
        self._lock = threading.Lock()
        self._thread: LoopThread[asyncio.Server] = LoopThread(
            "answer-server", self._start, self._stop
        )
        self.base_url = ""

    @contextlib.contextmanager
    def scripted(self, answers: list[Answer], default: Answer | None = None) -> Iterator[None]:
        with self._lock:
            self._script = _Script(list(answers), default or Answer())
            self.requests.clear()
        try:
            yield
        finally:
            with self._lock:
                self._script = _Script()

    def _next(self) -> Answer:
        with self._lock:
            if self._script.answers:
                return self._script.answers.pop(0)
            return self._script.default

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is None:
                return
            self.requests.append(request)
            answer = self._next()
            if not answer.close_first:
                writer.write(answer.encode(request))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=1 << 22)
        return server

    @staticmethod
    async def _stop(server: asyncio.Server) -> None:
        server.close()
        await server.wait_closed()

    def __enter__(self) -> AnswerServer:
        server = self._thread.start()
        port = server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.stop()


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or b"0")
    body = await reader.readexactly(length) if length else b""
    return head + body
