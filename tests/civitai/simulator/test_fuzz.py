"""Malformed requests over loopback (bodies, query values, path ids, headers, blob URLs): the
simulator answers each with a 4xx (never a 5xx: no fault is injected here) and a request it
refuses never changes a balance."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.civitai.simulator.support import WORKFLOWS, air, sd
from weft.civitai.simulator import SimulatorConfig, start_simulator_thread
from weft.civitai.simulator.server import SimulatorThread

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
TEXT = st.text(max_size=30)
HEADER_TEXT = st.text(
    st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=40
)
INPUT_FIELDS = [
    "engine",
    "ecosystem",
    "operation",
    "model",
    "prompt",
    "width",
    "height",
    "steps",
    "cfgScale",
    "seed",
    "quantity",
    "loras",
    "embeddings",
    "vaeModel",
    "clipSkip",
    "sampleMethod",
    "outputFormat",
    "diffuserModel",
    "modelVersion",
    "images",
]
TEMPLATE_FIELDS = [
    "tips",
    "externalId",
    "currencies",
    "tags",
    "callbacks",
    "metadata",
    "allowMatureContent",
    "upgradeMode",
    "nsfwLevel",
    "steps",
    "ephemeral",
]
QUERY_NAMES = ["wait", "whatif", "take", "cursor", "limit", "page", "types", "hideMatureContent"]
NASTY_PATHS = [
    "/api/v1/model-versions/%FF%FE",
    "/api/v1/model-versions/%00",
    "/v2/consumer/blobs/content/%C3%28",
    "/v2/consumer/workflows/%E2%82",
    "/api/v1/models/%F0%9F%98%80",
    "/v2/consumer/blobs/content/a.b.c.d",
]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    handle = start_simulator_thread(SimulatorConfig.fast(balance=10**9))
    try:
        yield handle
    finally:
        handle.stop()


def send(
    sim: SimulatorThread, method: str, path: str, body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:  # fmt: skip
    url = urlsplit(sim.base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def balance(sim: SimulatorThread) -> int:
    return sum(a.balance for a in sim.state.accounts.values())


@st.composite
def submit_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "mutated", "mutated", "template"]))
    if kind == "bytes":
        return draw(st.binary(max_size=60))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    payload: dict[str, Any] = sd(loras={air(1007): 0.5}, quantity=1, width=64, height=64)
    if kind == "mutated":
        inp = payload["steps"][0]["input"]
        for _ in range(draw(st.integers(1, 3))):
            inp[draw(st.sampled_from(INPUT_FIELDS) | TEXT)] = draw(JSON)
    else:
        payload[draw(st.sampled_from(TEMPLATE_FIELDS))] = draw(JSON)
    return json.dumps(payload).encode()


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes | None, dict[str, str]]:
    token = draw(st.sampled_from(["good", "good", "bad", "none"]))
    headers: dict[str, str] = {}
    if token == "good":
        headers["Authorization"] = "Bearer {token}"
    elif token == "bad":
        headers["Authorization"] = draw(HEADER_TEXT)
    if draw(st.booleans()):
        headers[draw(st.sampled_from(["Content-Type", "Accept", "X-Extra"]))] = draw(HEADER_TEXT)
    names = st.sampled_from(QUERY_NAMES) | TEXT
    query = "?" + "&".join(
        f"{quote(draw(names), safe='')}={quote(draw(TEXT), safe='')}"
        for _ in range(draw(st.integers(0, 3)))
    )
    where = draw(
        st.sampled_from(
            [
                "submit",
                "submit",
                "version",
                "mini",
                "models",
                "model",
                "workflow",
                "update",
                "blob",
                "content",
                "nasty",
            ]
        )
    )
    ident = quote(draw(TEXT | st.integers(-5, 3_000_000_000).map(str)), safe="")
    body: bytes | None = None
    method = "GET"
    if where == "submit":
        method, path, body = "POST", WORKFLOWS, draw(submit_bodies())
    elif where == "version":
        path = f"/api/v1/model-versions/{ident}"
    elif where == "mini":
        path = f"/api/v1/model-versions/mini/{ident}"
    elif where == "models":
        path = "/api/v1/models"
    elif where == "model":
        path = f"/api/v1/models/{ident}"
    elif where == "workflow":
        path = f"{WORKFLOWS}/{ident}"
    elif where == "update":
        method, path, body = "PUT", f"{WORKFLOWS}/{ident}", json.dumps(draw(JSON)).encode()
    elif where == "blob":
        path = f"/v2/consumer/blobs/{ident}"
    elif where == "content":
        path = f"/v2/consumer/blobs/content/{ident}"
    else:
        path = draw(st.sampled_from(NASTY_PATHS))
    return method, path + query, body, headers


def test_malformed_requests_get_4xx_and_never_move_buzz(sim: SimulatorThread) -> None:
    # a real workflow, so updates and blobs have something to hit
    status, raw = send(
        sim,
        "POST",
        WORKFLOWS + "?wait=30",
        json.dumps(sd(width=64, height=64)).encode(),
        {"Authorization": f"Bearer {sim.token}", "Content-Type": "application/json"},
    )
    assert status == 200
    done = json.loads(raw)

    @settings(
        max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(requests(), st.booleans())
    def check(req: tuple[str, str, bytes | None, dict[str, str]], on_real: bool) -> None:
        method, path, body, headers = req
        if "Authorization" in headers and headers["Authorization"] == "Bearer {token}":
            headers["Authorization"] = f"Bearer {sim.token}"
        if on_real and method == "PUT":
            path = f"{WORKFLOWS}/{done['id']}"
        before = balance(sim)
        status, answer = send(sim, method, path, body, headers)
        assert status < 500, (method, path, body, headers, status, answer[:300])
        after = balance(sim)
        assert after <= before
        if status >= 400:
            assert after == before, (method, path, body, status)

    check()
    assert not sim.state.faults_injected
