"""Helpers shared by the simulator's tests: request bodies by family, and loopback requests."""

from __future__ import annotations

from typing import Any

import aiohttp

from weft.civitai.simulator import Catalog, RunningSimulator

WORKFLOWS = "/v2/consumer/workflows"
CATALOG = Catalog()


def air(version_id: int) -> str:
    entry = CATALOG.published_version(version_id)
    assert entry is not None, version_id
    return entry.air


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def body(*, external_id: str | None = None, **inp: Any) -> dict[str, Any]:
    """A SubmitWorkflow body of one imageGen step (``None`` values are left out)."""
    out: dict[str, Any] = {
        "steps": [{"$type": "imageGen", "input": {k: v for k, v in inp.items() if v is not None}}]
    }
    if external_id is not None:
        out["externalId"] = external_id
    return out


def sd(
    ecosystem: str = "sdxl", model: int = 1002, engine: str = "sdcpp", **inp: Any
) -> dict[str, Any]:
    """An SD-family (or comfy Flux.1) createImage with the catalog checkpoint ``model``."""
    fields = {"prompt": "a lighthouse at dusk"} | inp
    return body(engine=engine, ecosystem=ecosystem, operation="createImage", model=air(model),
                **fields)  # fmt: skip


def flux1_sdcpp(**inp: Any) -> dict[str, Any]:
    fields = {"diffuserModel": air(691639), "prompt": "a lighthouse at dusk"} | inp
    return body(engine="sdcpp", ecosystem="flux1", operation="createImage", **fields)


def flux2(model: str = "klein", **inp: Any) -> dict[str, Any]:
    fields = {"prompt": "a lighthouse"} | inp
    return body(engine="flux2", model=model, operation="createImage", **fields)


class Answer:
    def __init__(self, status: int, data: Any, headers: Any, raw: bytes) -> None:
        self.status, self.json, self.headers, self.raw = status, data, headers, raw

    def field_errors(self) -> dict[str, list[str]]:
        assert self.status == 400 and isinstance(self.json, dict), (self.status, self.json)
        errors = self.json.get("errors")
        assert isinstance(errors, dict), self.json
        return errors


async def request(
    sim: RunningSimulator,
    method: str,
    path: str,
    *,
    json: Any = None,
    data: bytes | None = None,
    token: str | None = "default",
    headers: dict[str, str] | None = None,
) -> Answer:
    all_headers = dict(headers or {})
    if token == "default":
        token = sim.token
    if token is not None:
        all_headers.update(auth(token))
    async with aiohttp.ClientSession() as http, http.request(
        method, sim.base_url + path, json=json, data=data, headers=all_headers,
        allow_redirects=False,
    ) as resp:  # fmt: skip
        raw = await resp.read()
        parsed: Any = None
        if resp.content_type in ("application/json", "application/problem+json"):
            parsed = await resp.json(content_type=None)
        return Answer(resp.status, parsed, resp.headers, raw)


async def submit(
    sim: RunningSimulator, payload: Any, query: str = "", token: str | None = "default"
) -> Answer:
    return await request(sim, "POST", WORKFLOWS + query, json=payload, token=token)
