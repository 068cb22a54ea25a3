"""``weft ui``: serve the run store's pages on a local address until Ctrl-C."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import click

from weft.cli.options import STORE_HELP
from weft.errors import UsageError

DEFAULT_PORT = 8899
DEFAULT_IMAGES = Path("weft-out")


def _existing_store(target: str | None) -> str:
    """The store to read; a SQLite file that does not exist is an error (reading must not
    create one)."""
    from weft.store import store_target
    from weft.store.postgres_database import is_postgres_url

    where = store_target(target)
    if not is_postgres_url(where) and not Path(where).expanduser().is_file():
        raise UsageError(
            f"no run store at {where}",
            why="weft ui reads a store that runs were recorded in; it never creates one",
            hint="pass --store PATH (or set WEFT_STORE) to the store your runs use",
        )
    return where


def _listen(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}",
            why=exc.strerror or str(exc),
            hint="pick another port with --port (0: any free one)",
        ) from None
    return sock


async def serve(store_target: str, host: str, port: int, image_roots: tuple[Path, ...]) -> None:
    """Serve the pages of ``store_target`` on ``host:port`` until cancelled; prints the URL
    (with the port bound, when ``port`` is 0) once it accepts connections."""
    from aiohttp import web

    from weft.store import open_store
    from weft.ui.app import UiConfig, loopback_hosts, make_app

    sock = _listen(host, port)
    bound = int(sock.getsockname()[1])
    store = open_store(store_target)
    try:
        config = UiConfig(store, image_roots, loopback_hosts(host, bound))
        runner = web.AppRunner(make_app(config), access_log=None)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            shown = f"[{host}]" if ":" in host else host
            click.echo(f"weft ui: http://{shown}:{bound}/  (store {store.location}; Ctrl-C stops)")
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
    finally:
        store.close()
        sock.close()


@click.command("ui")
@click.option("--store", "store_path", metavar="PATH|URL", help=STORE_HELP)
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port to serve on.")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on (keep it local: pages show every run).")  # fmt: skip
@click.option("--images", "image_dirs", multiple=True, metavar="DIR",
              help="Where Civitai batches saved images (<DIR>/<workflowId>/) "
                   "[default: ./weft-out when it exists].")  # fmt: skip
def ui(store_path: str | None, port: int, host: str, image_dirs: tuple[str, ...]) -> None:
    """Browse recorded runs in a local web page: the run list, each run's timeline, requests,
    outputs and error, Civitai images, batches with live progress. Read-only."""
    target = _existing_store(store_path)
    roots = tuple(Path(d).resolve() for d in image_dirs)
    if not roots and DEFAULT_IMAGES.is_dir():
        roots = (DEFAULT_IMAGES.resolve(),)
    try:
        asyncio.run(serve(target, host, port, roots))
    except KeyboardInterrupt:
        click.echo("weft ui: stopped", err=True)


__all__ = ["DEFAULT_PORT", "serve", "ui"]
