"""A TCP forwarder on 127.0.0.1 in front of a server, which can go down for a while: during an
outage it cuts every open connection and resets every new one (what a client sees of a server
that restarts or a network that drops), then forwards again."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time


class OutageProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.refused = 0  # connections reset during an outage
        self.cut = 0  # open connections cut when an outage began
        self._down_until = 0.0
        self._loop = asyncio.new_event_loop()
        self._open: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OutageProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def down(self, seconds: float) -> None:
        """Go down now for ``seconds``."""
        self._loop.call_soon_threadsafe(self._go_down, seconds)

    def _go_down(self, seconds: float) -> None:
        self._down_until = time.monotonic() + seconds
        for writer in list(self._open):
            self.cut += 1
            _reset(writer)
        self._open.clear()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        for writer in list(self._open):
            _reset(writer)
        self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._down_until:
            self.refused += 1
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _reset(writer)
            return
        self._open.update((writer, up_writer))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        self._open.discard(writer)
        self._open.discard(up_writer)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ConnectionError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a reset (RST), not a clean end."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
