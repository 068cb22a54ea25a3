"""Blobs: ``GET /v2/consumer/blobs/{blobId}`` (redirects to a freshly signed URL) and the signed
content URLs themselves, which serve the placeholder pictures."""

from __future__ import annotations

import asyncio
import math
import time

from aiohttp import web

from weft.civitai.simulator.http import origin, problem, state_of
from weft.civitai.simulator.images import content_type, render
from weft.civitai.simulator.workflow_api import authorize

INLINE_RENDER_PIXELS = 128 * 128
"""Pictures up to this many pixels are rendered on the event loop (about a millisecond)."""


async def get_blob(request: web.Request) -> web.Response:
    account = authorize(request)
    state = state_of(request)
    spec = state.blobs.get(request.match_info["blobId"])
    if spec is None or state.workflows.get(spec.workflow_id) is None:
        return problem(404, "Blob not found.")
    if state.workflows[spec.workflow_id].account != account.name:
        return problem(403, "The blob belongs to another account.")
    if spec.blocked is not None:
        return problem(404, f"The blob is not available: {spec.blocked}")
    expires = math.floor(time.time() + state.config.blob_url_ttl)
    location = (
        f"{origin(request)}/v2/consumer/blobs/content/{state.signer.token(spec.blob_id, expires)}"
    )
    raise web.HTTPPermanentRedirect(location)


async def get_blob_content(request: web.Request) -> web.Response:
    state = state_of(request)
    blob_id, reason = state.signer.verify(request.match_info["token"], time.time())
    if blob_id is None:
        return problem(403, reason)
    spec = state.blobs.get(blob_id)
    if spec is None or spec.blocked is not None:
        return problem(404, "Blob not found.")
    data = state.image_cache.get(blob_id)
    if data is None:
        picture = spec.picture
        if picture.width * picture.height <= INLINE_RENDER_PIXELS:
            data = render(picture)  # a thread hop would cost more than the picture
        else:
            data = await asyncio.to_thread(render, picture)
        state.image_cache[blob_id] = data
    return web.Response(body=data, content_type=content_type(spec.fmt),
                        headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v2/consumer/blobs/content/{token}", get_blob_content,
                       name="getBlobContent")  # fmt: skip
    app.router.add_get("/v2/consumer/blobs/{blobId}", get_blob, name="getBlob")
