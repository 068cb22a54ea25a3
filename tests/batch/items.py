"""A loopback items API for batch tests: counts requests and the most requests in flight at once.

``GET /items/{id}?label=&flag=`` answers ``{"id", "double", "label", "flag"}`` after ``delay``
seconds. ``throttle`` lists item ids whose first request is answered 429 with ``Retry-After``.
``expected_token`` makes requests without ``Authorization: Bearer <token>`` fail with 401.
The server runs on its own thread so sync tests and subprocesses can use it.
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
info: {title: items batch, version: 1.0.0}
sourceDescriptions:
  - {name: items, url: ./items.openapi.yaml, type: openapi}
workflows:
  - workflowId: fetch-item
    inputs:
      type: object
      required: [id, token]
      properties:
        id: {type: integer}
        label: {type: string}
        flag: {type: boolean}
        token: {type: string, format: password}
    steps:
      - stepId: get
        operationId: getItem
        parameters:
          - {name: id, in: path, value: $inputs.id}
          - {name: label, in: query, value: $inputs.label}
          - {name: flag, in: query, value: $inputs.flag}
          - {name: Authorization, in: header, value: 'Bearer {$inputs.token}'}
        successCriteria:
          - condition: $statusCode == 200
        onFailure:
          - {name: throttled, type: retry, retryLimit: 3,
             criteria: [{condition: $statusCode == 429}]}
        outputs:
          double: $response.body#/double
          label: $response.body#/label
          flag: $response.body#/flag
    outputs:
      double: $steps.get.outputs.double
      label: $steps.get.outputs.label
      flag: $steps.get.outputs.flag
"""

OPENAPI = """\
openapi: 3.1.0
info: {title: items, version: 1.0.0}
servers: [{url: 'http://127.0.0.1:9/'}]
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
        - {name: label, in: query, schema: {type: string}}
        - {name: flag, in: query, schema: {type: boolean}}
      responses:
        '200': {description: ok}
"""


def write_items_docs(folder: Path) -> Path:
    (folder / "items.openapi.yaml").write_text(OPENAPI)
    path = folder / "items.arazzo.yaml"
    path.write_text(ARAZZO)
    return path


@dataclass
class ItemsServer:
    delay: float = 0.0
    throttle: set[int] = field(default_factory=set)
    retry_after: str = "1"
    expected_token: str | None = None
    fail: set[int] = field(default_factory=set)
    fail_status: int = 500  # the answer for items in ``fail``
    requests: Counter[int] = field(default_factory=Counter)
    log: list[tuple[float, int, int]] = field(default_factory=list)  # (time, id, status)
    in_flight: int = 0
    max_in_flight: int = 0
    base_url: str = ""

    async def _item(self, request: web.Request) -> web.Response:
        item = int(request.match_info["id"])
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            status = 200
            if self.expected_token and (
                request.headers.get("Authorization") != f"Bearer {self.expected_token}"
            ):
                status = 401
            elif item in self.throttle and self.requests[item] == 0:
                status = 429
            elif item in self.fail:
                status = self.fail_status
            self.requests[item] += 1
            self.log.append((time.monotonic(), item, status))
            if status == 429:
                return web.json_response(
                    {"error": "slow down"}, status=429, headers={"Retry-After": self.retry_after}
                )
            if status != 200:
                return web.json_response({"error": "no"}, status=status)
            body = {
                "id": item,
                "double": item * 2,
                "label": request.query.get("label"),
                "flag": request.query.get("flag"),
            }
            return web.json_response(body)
        finally:
            self.in_flight -= 1

    def start(self) -> ItemsServer:
        app = web.Application()
        app.router.add_get("/items/{id}", self._item)
        self._host = AppThread(app, "items-api")
        self.base_url = self._host.start()
        return self

    def stop(self) -> None:
        self._host.stop()

    def __enter__(self) -> ItemsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
