"""A loopback API for the scale-out tests, on its own thread (workers are other processes).

- ``GET /items/{id}`` answers ``{"id", "double"}``; with ``expected_token`` a request without
  ``Authorization: Bearer <token>`` gets 401; an id in ``throttle`` gets 429 with
  ``Retry-After`` the first time, one in ``unavailable`` 503 every time. Every answer is
  logged with its arrival time.
- ``POST /orders`` (no idempotency key) creates an order; while ``hang`` is set it waits for
  :meth:`OrdersApi.release` before answering (a worker can be killed with it in flight).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from weft.testing.threaded import AppThread

ARAZZO = """\
arazzo: 1.0.1
info: {title: scale-out tests, version: 1.0.0}
sourceDescriptions:
  - {name: shop, url: ./shop.openapi.yaml, type: openapi}
workflows:
  - workflowId: fetch-item
    inputs:
      type: object
      required: [id, token]
      properties:
        id: {type: integer}
        token: {type: string, format: password}
    steps:
      - stepId: get
        operationId: getItem
        parameters:
          - {name: id, in: path, value: $inputs.id}
          - {name: Authorization, in: header, value: 'Bearer {$inputs.token}'}
        successCriteria:
          - condition: $statusCode == 200
        onFailure:
          - {name: throttled, type: retry, retryLimit: 3,
             criteria: [{condition: $statusCode == 429}]}
        outputs:
          double: $response.body#/double
    outputs:
      double: $steps.get.outputs.double
  - workflowId: place-order
    inputs:
      type: object
      required: [id]
      properties:
        id: {type: integer}
    steps:
      - stepId: order
        operationId: createOrder
        requestBody:
          contentType: application/json
          payload: {item: $inputs.id}
        successCriteria:
          - condition: $statusCode == 201
        outputs:
          order: $response.body#/order
    outputs:
      order: $steps.order.outputs.order
"""

OPENAPI = """\
openapi: 3.1.0
info: {title: shop, version: 1.0.0}
servers: [{url: 'http://127.0.0.1:9/'}]
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        '200': {description: ok}
  /orders:
    post:
      operationId: createOrder
      requestBody:
        content:
          application/json:
            schema: {type: object}
      responses:
        '201': {description: created}
"""


def write_shop_docs(folder: Path) -> Path:
    (folder / "shop.openapi.yaml").write_text(OPENAPI)
    path = folder / "shop.arazzo.yaml"
    path.write_text(ARAZZO)
    return path


@dataclass
class ShopApi:
    expected_token: str | None = None
    throttle: set[int] = field(default_factory=set)
    unavailable: set[int] = field(default_factory=set)  # answered 503 (no Retry-After)
    retry_after: str = "2"
    delay: float = 0.0
    hang: bool = False
    log: list[tuple[float, str, int]] = field(default_factory=list)  # (arrival, path, status)
    requests: Counter[int] = field(default_factory=Counter)
    orders: int = 0
    started: int = 0  # item requests received (answered or not yet)
    base_url: str = ""

    async def _item(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        self.started += 1
        item = int(request.match_info["id"])
        if self.delay:
            await asyncio.sleep(self.delay)
        status = 200
        if self.expected_token and (
            request.headers.get("Authorization") != f"Bearer {self.expected_token}"
        ):
            status = 401
        elif item in self.throttle and self.requests[item] == 0:
            status = 429
        elif item in self.unavailable:
            status = 503
        self.requests[item] += 1
        self.log.append((arrived, request.path, status))
        if status == 429:
            return web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": self.retry_after}
            )
        if status != 200:
            return web.json_response({"error": "who are you"}, status=status)
        return web.json_response({"id": item, "double": item * 2})

    async def _order(self, request: web.Request) -> web.Response:
        self.orders += 1
        self.log.append((time.monotonic(), request.path, 0))
        if self.hang:
            await self._released.wait()
        return web.json_response({"order": self.orders}, status=201)

    def release(self) -> None:
        self._host.call_soon(self._released.set)

    def start(self) -> ShopApi:
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_get("/items/{id}", self._item)
        app.router.add_post("/orders", self._order)
        self._host = AppThread(app, "shop-api", shutdown_timeout=0.1)
        self.base_url = self._host.start()
        return self

    def stop(self) -> None:
        self.release()
        self._host.stop()

    def __enter__(self) -> ShopApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
