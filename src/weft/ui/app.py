"""The ``weft ui`` web application (aiohttp): read-only pages and JSON over a run store.

Routes (all ``GET``):

- ``/`` the run list (``?status=&workflow=&label=name=value&before=CURSOR&limit=``), newest
  first, one page per request (keyset: a page costs the same however many runs the store has);
- ``/runs/{id}`` a run; ``/runs/{id}/images/{name}`` one of its saved images (picked from the
  run's own gallery by name: no path is read from the request); ``/runs/{id}/report.html``,
  ``/runs/{id}/junit.xml`` its reports;
- ``/batches/{key}`` a batch (its progress, images and runs); ``/batches/{key}/report.html``,
  ``/batches/{key}/junit.xml``;
- ``/api/runs``, ``/api/runs/{id}``, ``/api/batches/{key}`` the same as JSON (the batch's is
  what its page polls while runs are in flight);
- ``/static/weft.css``, ``/static/ui.js`` shipped in the package.

Store calls run in worker threads (the store is synchronous). Requests whose ``Host`` is not
the address served are refused when serving on a loopback address (a web page elsewhere cannot
reach the store through the browser by DNS rebinding).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from weft.errors import WeftError
from weft.reports import batch_report, junit_xml, run_report, saved_images, view_of_stored
from weft.reports.gallery import SavedImage
from weft.reports.html import stylesheet
from weft.store.ids import is_valid_run_id
from weft.store.protocol import RunStore
from weft.store.records import RunSummary, StoredRun
from weft.ui import pages
from weft.ui.listing import RunFilter, parse_filter
from weft.ui.progress import batch_progress

BATCH_REPORT_LIMIT = 5000  # runs of a batch a downloaded report covers at most

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class UiConfig:
    """``image_roots``: folders where runs without an ``out``/``outRoot`` label (a Civitai
    batch's rows) keep ``<workflowId>/`` image folders. ``allowed_hosts``: ``Host`` header
    values accepted (empty: any)."""

    store: RunStore
    image_roots: tuple[Path, ...] = ()
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)


STORE: web.AppKey[UiConfig] = web.AppKey("weft_ui", UiConfig)


def _config(request: web.Request) -> UiConfig:
    return request.app[STORE]


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _json(value: Any, status: int = 200) -> web.Response:
    body = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str)
    return web.Response(body=body, status=status, content_type="application/json")


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def _error(request: web.Request, status: int, what: str, why: str | None = None) -> web.Response:
    if _wants_json(request):
        return _json({"error": what, "why": why}, status)
    store = _config(request).store.location
    return _html(pages.error_page(status, what, why, store=store), status)


async def _store_call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


def _filter(request: web.Request, fixed: dict[str, str] | None = None) -> RunFilter:
    query = {k: request.query[k] for k in ("status", "workflow", "before", "limit")
             if k in request.query}  # fmt: skip
    labels: list[str] = []
    for value in request.query.getall("label", []):
        labels.extend(part for part in value.split(",") if part.strip())
    return parse_filter(query, labels, fixed)


async def _page(store: RunStore, flt: RunFilter) -> tuple[list[RunSummary], str | None]:
    """A page of runs and the cursor of the next page (``None``: this is the last)."""
    found: list[RunSummary] = await _store_call(
        store.list_runs,
        status=flt.status,
        workflow_id=flt.workflow,
        labels=flt.label_map or None,
        limit=flt.limit + 1,
        before=flt.before,
    )
    if len(found) > flt.limit:
        found = found[: flt.limit]
        return found, found[-1].cursor
    return found, None


async def _run(request: web.Request) -> StoredRun | None:
    run_id = request.match_info["run_id"]
    if not is_valid_run_id(run_id):
        return None
    run: StoredRun | None = await _store_call(_config(request).store.get_run, run_id)
    return run


def _no_run(request: web.Request) -> web.Response:
    return _error(
        request, 404, "no such run in this store", "runs are listed newest first on the home page"
    )


# -- pages ----------------------------------------------------------------------------------


async def runs_page(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    flt = _filter(request)
    summaries, next_cursor = await _page(config.store, flt)
    return _html(pages.list_page(summaries, flt, next_cursor, store=config.store.location))


async def run_page(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    run = await _run(request)
    if run is None:
        return _no_run(request)
    view = await asyncio.to_thread(view_of_stored, run, config.image_roots)
    return _html(pages.run_page(view, store=config.store.location))


async def run_image(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    run = await _run(request)
    if run is None:
        return _no_run(request)
    name = request.match_info["name"]
    images: list[SavedImage] = await asyncio.to_thread(saved_images, run, config.image_roots)
    image = next((i for i in images if i.name == name), None)
    if image is None:
        return _error(request, 404, "this run has no saved image of that name")
    headers = {"Content-Type": "image/png", "Cache-Control": "private, max-age=300"}
    return web.FileResponse(image.path, headers=headers)


async def run_report_file(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    run = await _run(request)
    if run is None:
        return _no_run(request)
    view = await asyncio.to_thread(view_of_stored, run, config.image_roots)
    if request.path.endswith(".xml"):
        return _download(junit_xml([view]), f"weft-{run.run_id}.junit.xml", "application/xml")
    text = await asyncio.to_thread(run_report, view)
    return _download(text.encode("utf-8"), f"weft-{run.run_id}.html", "text/html")


def _download(body: bytes, name: str, kind: str) -> web.Response:
    return web.Response(
        body=body,
        content_type=kind,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def batch_page(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    key = request.match_info["key"]
    flt = _filter(request, {"batch": key})
    progress = await _store_call(batch_progress, config.store, key)
    if progress.total == 0:
        return _error(request, 404, f"no run of batch {key!r} is in this store")
    summaries, next_cursor = await _page(config.store, flt)
    images = await asyncio.to_thread(_page_images, config, summaries)
    text = pages.batch_page(
        key, progress, summaries, flt, next_cursor, images, store=config.store.location
    )
    return _html(text)


def _page_images(config: UiConfig, summaries: Sequence[RunSummary]) -> list[tuple[str, SavedImage]]:
    finished = [s.run_id for s in summaries if s.status == "succeeded"]
    found: list[tuple[str, SavedImage]] = []
    for run in config.store.get_runs(finished) if finished else []:
        found.extend((run.run_id, image) for image in saved_images(run, config.image_roots))
    return found


async def batch_report_file(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    key = request.match_info["key"]

    def build() -> tuple[bytes, str, str] | None:
        summaries = config.store.list_runs(labels={"batch": key}, limit=BATCH_REPORT_LIMIT)
        if not summaries:
            return None
        runs = config.store.get_runs([s.run_id for s in reversed(summaries)])
        views = [view_of_stored(run, config.image_roots) for run in runs]
        views.sort(key=lambda v: int(v.row) if v.row is not None and v.row.isdigit() else 0)
        if request.path.endswith(".xml"):
            return junit_xml(views, name=f"batch {key}"), "junit.xml", "application/xml"
        return batch_report(views, f"batch {key}").encode("utf-8"), "html", "text/html"

    built = await asyncio.to_thread(build)
    if built is None:
        return _error(request, 404, f"no run of batch {key!r} is in this store")
    body, suffix, kind = built
    return _download(body, f"weft-{key}.{suffix}", kind)


# -- JSON -----------------------------------------------------------------------------------


async def api_runs(request: web.Request) -> web.StreamResponse:
    flt = _filter(request)
    summaries, next_cursor = await _page(_config(request).store, flt)
    return _json({"runs": [s.to_dict() for s in summaries], "next": next_cursor})


async def api_run(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    run = await _run(request)
    if run is None:
        return _no_run(request)
    view = await asyncio.to_thread(view_of_stored, run, config.image_roots)
    return _json(view.to_dict())


async def api_batch(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    key = request.match_info["key"]
    progress = await _store_call(batch_progress, config.store, key)
    return _json(progress.to_dict())


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name == "weft.css":
        return web.Response(text=stylesheet(), content_type="text/css", charset="utf-8")
    if name == "ui.js":
        text = files("weft.ui").joinpath("static/ui.js").read_text(encoding="utf-8")
        return web.Response(text=text, content_type="text/javascript", charset="utf-8")
    return _error(request, 404, "no such file")


# -- the application --------------------------------------------------------------------------

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read-only, known hosts only, a user error as a page (never a traceback)."""
    allowed = _config(request).allowed_hosts
    if allowed and request.host not in allowed:
        return web.Response(status=421, text="this weft ui answers only on its own address\n")
    if request.method not in ("GET", "HEAD"):
        return web.Response(status=405, text="weft ui is read-only\n")
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status == 404:
            return _error(request, 404, "no such page")
        raise
    except WeftError as exc:
        response = _error(request, 400, str(exc))
    for name, value in _SECURITY_HEADERS.items():
        if name == "Cache-Control" and name in response.headers:
            continue
        response.headers.setdefault(name, value)
    return response


def make_app(config: UiConfig) -> web.Application:
    """The application serving ``config.store``."""
    app = web.Application(middlewares=[_guard])
    app[STORE] = config
    app.router.add_get("/", runs_page)
    app.router.add_get("/runs/{run_id}", run_page)
    app.router.add_get("/runs/{run_id}/images/{name}", run_image)
    app.router.add_get("/runs/{run_id}/report.html", run_report_file)
    app.router.add_get("/runs/{run_id}/junit.xml", run_report_file)
    app.router.add_get("/batches/{key}", batch_page)
    app.router.add_get("/batches/{key}/report.html", batch_report_file)
    app.router.add_get("/batches/{key}/junit.xml", batch_report_file)
    app.router.add_get("/api/runs", api_runs)
    app.router.add_get("/api/runs/{run_id}", api_run)
    app.router.add_get("/api/batches/{key}", api_batch)
    app.router.add_get("/static/{name}", static_file)
    return app


def loopback_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` values a browser sends for a loopback address (empty: not loopback)."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        return frozenset()
    names = ("127.0.0.1", "localhost", "[::1]")
    return frozenset(f"{name}:{port}" for name in names) | frozenset(names)


__all__ = ["STORE", "UiConfig", "loopback_hosts", "make_app"]
