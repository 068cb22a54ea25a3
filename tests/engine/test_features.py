"""Engine features end to end: bodies, parameter styles, redirects, size cap, idempotency,
nested and foreign workflows, dependencies, and 1.1 Selector Objects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.engine.helpers import MemoryRecorder, recording_app, serve
from weft.api import run_async
from weft.effects.aiohttp_transport import AiohttpTransport
from weft.effects.clock import ManualClock

OPENAPI = """
openapi: 3.1.0
info: {title: t, version: '1'}
servers: [{url: 'http://example.invalid'}]
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
  /orders:
    post:
      operationId: createOrder
      requestBody: {content: {application/json: {schema: {type: object}}}}
  /jobs:
    post:
      operationId: submitJob
      x-weft-idempotency: externalId  # the description names the body's idempotency key
      requestBody: {content: {application/json: {schema: {type: object}}}}
  /form:
    post:
      operationId: submitForm
      requestBody: {content: {application/x-www-form-urlencoded: {schema: {type: object}}}}
  /upload:
    post:
      operationId: upload
      requestBody: {content: {multipart/form-data: {schema: {type: object}}}}
  /xml:
    post:
      operationId: postXml
      requestBody: {content: {application/xml: {schema: {type: object}}}}
  /styles/{ids}/{label}/{matrix}:
    get:
      operationId: styles
      parameters:
        - {name: ids, in: path, required: true, schema: {type: array}}
        - {name: label, in: path, required: true, style: label, schema: {type: array}}
        - {name: matrix, in: path, required: true, style: matrix, explode: true,
           schema: {type: array}}
        - {name: pipes, in: query, style: pipeDelimited, explode: false, schema: {type: array}}
        - {name: spaces, in: query, style: spaceDelimited, explode: false,
           schema: {type: array}}
        - {name: obj, in: query, explode: false, schema: {type: object}}
        - {name: deep, in: query, style: deepObject, schema: {type: object}}
        - {name: X-List, in: header, schema: {type: array}}
        - {name: X-Obj, in: header, explode: true, schema: {type: object}}
        - {name: session, in: cookie, schema: {type: string}}
        - {name: prefs, in: cookie, explode: false, schema: {type: array}}
  /moved:
    get: {operationId: moved}
  /login:
    get:
      operationId: login
      responses: {'302': {description: to the app}}
  /big:
    get: {operationId: big}
  /count/{name}:
    get:
      operationId: count
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
"""


def _doc(tmp: Path, body: str, version: str = "1.0.1", extra_files: dict | None = None) -> Path:  # type: ignore[type-arg]
    (tmp / "api.openapi.yaml").write_text(OPENAPI)
    for name, text in (extra_files or {}).items():
        (tmp / name).write_text(text)
    path = tmp / "flow.arazzo.yaml"
    path.write_text(
        f"arazzo: {version}\ninfo: {{title: t, version: '1'}}\n"
        "sourceDescriptions: [{name: api, url: ./api.openapi.yaml, type: openapi}]\n" + body
    )
    return path


def _app() -> tuple[web.Application, list[Any], Counter[str]]:
    app, seen = recording_app()
    hits: Counter[str] = Counter()

    async def item(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["id"], "n": len(seen)})

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"ok": True}, status=201)

    async def xml(request: web.Request) -> web.Response:
        return web.Response(
            text="<receipt><order id='o-9'><total>12.5</total></order></receipt>",
            content_type="application/xml",
        )

    async def styles(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/items/moved-here")

    async def login(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/items/after-login"})

    async def big(request: web.Request) -> web.StreamResponse:
        if request.query.get("chunked"):
            resp = web.StreamResponse()
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            for _ in range(10):
                await resp.write(b"x" * 500)
            await resp.write_eof()
            return resp
        return web.Response(body=b"x" * 5000)

    async def count(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        hits[name] += 1
        return web.json_response({"name": name, "n": hits[name]})

    app.router.add_get("/items/{id}", item)
    for p in ("/orders", "/jobs", "/form", "/upload"):
        app.router.add_post(p, echo)
    app.router.add_post("/xml", xml)
    app.router.add_get("/styles/{ids}/{label}/{matrix}", styles)
    app.router.add_get("/moved", moved)
    app.router.add_get("/login", login)
    app.router.add_get("/big", big)
    app.router.add_get("/count/{name}", count)
    return app, seen, hits


async def _run(doc: Path, app: web.Application, **kw: Any) -> Any:
    async with serve(app) as base:
        servers = {"api": base, **{k: base for k in kw.pop("more_servers", ())}}
        return await run_async(doc, servers=servers, clock=kw.pop("clock", ManualClock()), **kw)


# -- bodies ---------------------------------------------------------------------------------------


async def test_form_body_repeats_arrays_and_json_encodes_objects(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    inputs: {type: object, properties: {who: {type: string}}}
    steps:
      - stepId: f
        operationId: submitForm
        requestBody:
          payload: {name: $inputs.who, tags: [a, 'b c'], meta: {k: 1}, gone: $inputs.nope}
""",
    )
    app, seen, _ = _app()
    result = await _run(doc, app, inputs={"who": "Zoë & co"})
    assert result.status == "succeeded", result.error
    assert seen[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert seen[0].form == {"name": ["Zoë & co"], "tags": ["a", "b c"], "meta": ['{"k":1}']}


async def test_multipart_body_parts(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: u
        operationId: upload
        requestBody:
          payload: {title: cat picture, meta: {w: 2}, tags: [x, y]}
""",
    )
    app, seen, _ = _app()
    result = await _run(doc, app)
    assert result.status == "succeeded", result.error
    ct = seen[0].headers["Content-Type"]
    assert ct.startswith("multipart/form-data; boundary=")
    boundary = ct.split("boundary=", 1)[1]
    parts = [p for p in seen[0].body.decode().split(f"--{boundary}") if p.strip() not in ("", "--")]
    decoded = []
    for part in parts:
        head, _, value = part.strip("\r\n").partition("\r\n\r\n")
        decoded.append((head.splitlines()[0], value))
    assert decoded == [
        ('Content-Disposition: form-data; name="title"', "cat picture"),
        ('Content-Disposition: form-data; name="meta"', '{"w":2}'),
        ('Content-Disposition: form-data; name="tags"', "x"),
        ('Content-Disposition: form-data; name="tags"', "y"),
    ]


async def test_xml_body_with_xpath_replacements_and_xml_response(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    inputs: {type: object, properties: {qty: {type: integer}, pet: {type: string}}}
    steps:
      - stepId: x
        operationId: postXml
        requestBody:
          payload: "<order><pet id='0'>none</pet><qty>0</qty></order>"
          replacements:
            - {target: /order/qty, value: $inputs.qty}
            - {target: //pet/@id, value: $inputs.pet}
            - {target: //pet, value: 'Rex & co'}
        outputs: {raw: $response.body}
        successCriteria:
          - {context: $response.body, condition: //order/@id = 'o-9', type: xpath}
    outputs: {raw: $steps.x.outputs.raw}
""",
    )
    app, seen, _ = _app()
    result = await _run(doc, app, inputs={"qty": 3, "pet": "p-7"})
    assert result.status == "succeeded", result.error
    assert seen[0].headers["Content-Type"] == "application/xml"
    assert seen[0].body.decode() == '<order><pet id="p-7">Rex &amp; co</pet><qty>3</qty></order>'
    assert result.outputs["raw"].startswith("<receipt>")


# -- parameter styles on the wire ----------------------------------------------------------------


async def test_path_query_header_and_cookie_styles_on_the_wire(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: s
        operationId: styles
        parameters:
          - {name: ids, in: path, value: [1, 2]}
          - {name: label, in: path, value: [a, b]}
          - {name: matrix, in: path, value: [x, y]}
          - {name: pipes, in: query, value: [p, q]}
          - {name: spaces, in: query, value: [s, t]}
          - {name: obj, in: query, value: {r: 1, g: 2}}
          - {name: deep, in: query, value: {color: red, size: [s, m]}}
          - {name: X-List, in: header, value: [h1, h2]}
          - {name: X-Obj, in: header, value: {a: 1, b: two}}
          - {name: session, in: cookie, value: 's/1 2'}
          - {name: prefs, in: cookie, value: [dark, compact]}
""",
    )
    app, seen, _ = _app()
    result = await _run(doc, app)
    assert result.status == "succeeded", result.error
    req = seen[0]
    assert req.path == "/styles/1,2/.a,b/;matrix=x;matrix=y"
    assert req.query == (
        "pipes=p|q&spaces=s%20t&obj=r,1,g,2&deep[color]=red&deep[size][]=s&deep[size][]=m"
    )
    assert req.headers["X-List"] == "h1,h2"
    assert req.headers["X-Obj"] == "a=1,b=two"
    assert req.headers["Cookie"] == "session=s%2F1%202; prefs=dark,compact"


# -- transport: redirects and the size cap -------------------------------------------------------


async def test_redirects_followed_unless_the_operation_declares_3xx(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: m
        operationId: moved
        outputs: {id: $response.body#/id, url: $url}
      - stepId: l
        operationId: login
        successCriteria: [{condition: $statusCode == 302}]
        outputs: {next: $response.header.Location}
""",
    )
    app, seen, _ = _app()
    result = await _run(doc, app)
    assert result.status == "succeeded", result.error
    moved, login = result.steps
    assert moved.outputs["id"] == "moved-here"
    assert moved.outputs["url"].endswith("/moved")  # $url is what weft sent
    assert login.outputs == {"next": "/items/after-login"}
    assert [s.path for s in seen] == ["/moved", "/items/moved-here", "/login"]


@pytest.mark.parametrize("chunked", [False, True])
async def test_response_size_cap_is_a_step_failure_with_failure_actions(
    tmp_path: Path, chunked: bool
) -> None:
    query = "\n        parameters: [{name: chunked, in: query, value: '1'}]" if chunked else ""
    doc = _doc(
        tmp_path,
        f"""
workflows:
  - workflowId: w
    steps:
      - stepId: b
        operationId: big{query}
        onFailure: [{{name: fallback, type: goto, stepId: small}}]
      - stepId: never
        operationId: getItem
        parameters: [{{name: id, in: path, value: never}}]
      - stepId: small
        operationId: getItem
        parameters: [{{name: id, in: path, value: small}}]
        outputs: {{id: $response.body#/id}}
    outputs: {{id: $steps.small.outputs.id}}
""",
    )
    app, _seen, _ = _app()
    async with AiohttpTransport(max_body=1000) as transport:
        result = await _run(doc, app, transport=transport)
    assert result.status == "succeeded", result.error
    assert result.outputs == {"id": "small"}
    big = result.steps[0]
    assert big.status == "failed"
    expected = "larger than the cap of 1000 bytes" if chunked else "too large: 5000 bytes"
    assert big.reason is not None and expected in big.reason
    assert [s.step_id for s in result.steps] == ["b", "small"]


# -- idempotency ---------------------------------------------------------------------------------


async def test_idempotency_extension_makes_a_post_resend_safe(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: keyed
        operationId: createOrder
        x-weft-idempotency: requestId
        requestBody: {payload: {requestId: r-123, qty: 1}}
      - stepId: plain
        operationId: createOrder
        requestBody: {payload: {qty: 1}}
      - stepId: header
        operationId: createOrder
        parameters: [{name: Idempotency-Key, in: header, value: k-9}]
        requestBody: {payload: {qty: 2}}
      - stepId: external
        operationId: submitJob
        requestBody: {payload: {externalId: e-1}}
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: x}]
""",
    )
    app, _seen, _ = _app()
    recorder = MemoryRecorder()
    result = await _run(doc, app, recorder=recorder)
    assert result.status == "succeeded", result.error
    # a write-ahead only for the request that is not resend-safe
    sending = [kw for name, kw in recorder.calls if name == "request_sending"]
    assert [(kw["step_key"], kw["resend_safe"]) for kw in sending] == [("w/plain", False)]
    assert sending[0]["state"]["inFlight"]["resendSafe"] is False
    finished = [kw for name, kw in recorder.calls if name == "attempt_finished"]
    assert [kw["step_key"] for kw in finished] == [
        "w/keyed",
        "w/plain",
        "w/header",
        "w/external",
        "w/get",
    ]
    keys = [kw["record"]["request"].get("idempotencyKey") for kw in finished]
    assert keys == ["r-123", None, "k-9", "e-1", None]


# -- workflows: arazzo sources, goto/retry workflow, dependsOn -----------------------------------

CHILD = """
arazzo: 1.0.1
info: {title: lib, version: '1'}
sourceDescriptions: [{name: shop, url: ./api.openapi.yaml, type: openapi}]
workflows:
  - workflowId: place
    inputs: {type: object, properties: {pet: {type: string}}}
    steps:
      - stepId: order
        operationId: createOrder
        parameters: [{reference: $components.parameters.trace}]
        requestBody: {payload: {pet: $inputs.pet}}
        outputs: {status: $statusCode}
    outputs: {status: $steps.order.outputs.status}
components:
  parameters:
    trace: {name: X-Trace, in: header, value: from-lib}
"""


async def test_step_calls_a_workflow_of_an_arazzo_source(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
  - {name: lib, url: ./lib.arazzo.yaml, type: arazzo}
workflows:
  - workflowId: w
    steps:
      - stepId: call
        workflowId: $sourceDescriptions.lib.place
        parameters: [{name: pet, value: rex}]
        outputs: {status: $outputs.status}
    outputs: {status: $steps.call.outputs.status}
""",
        extra_files={"lib.arazzo.yaml": CHILD},
    )
    text = doc.read_text().replace("type: openapi}]\n", "type: openapi}\n", 1)
    doc.write_text(text.replace("sourceDescriptions: [", "sourceDescriptions:\n  - ", 1))
    app, seen, _ = _app()
    result = await _run(doc, app, more_servers=["shop"])
    assert result.status == "succeeded", result.error
    assert result.outputs == {"status": 201}
    assert seen[0].path == "/orders"
    assert seen[0].json == {"pet": "rex"}
    assert seen[0].headers["X-Trace"] == "from-lib"  # the source's own components


async def test_goto_workflow_transfers_control(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: a
        operationId: count
        parameters: [{name: name, in: path, value: a}]
        onSuccess:
          - name: away
            type: goto
            workflowId: other
            parameters: [{name: tag, value: $response.body#/name}]
      - stepId: skipped
        operationId: count
        parameters: [{name: name, in: path, value: skipped}]
    outputs: {tag: $workflows.other.outputs.tag}
  - workflowId: other
    inputs: {type: object, properties: {tag: {type: string}}}
    steps:
      - stepId: b
        operationId: count
        parameters: [{name: name, in: path, value: $inputs.tag}]
        outputs: {n: $response.body#/n}
    outputs: {tag: $inputs.tag, n: $steps.b.outputs.n}
""",
    )
    app, _seen, hits = _app()
    result = await _run(doc, app)
    assert result.status == "succeeded", result.error
    assert result.outputs == {"tag": "a"}
    assert hits == Counter({"a": 2})  # step a, then `other` with tag a; `skipped` never ran
    assert [(s.workflow_id, s.step_id) for s in result.steps] == [("w", "a"), ("other", "b")]


async def test_retry_with_workflow_runs_it_first_then_retries(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: a
        operationId: count
        parameters: [{name: name, in: path, value: a}]
        successCriteria: [{condition: $response.body#/n == 2}]
        onFailure:
          - {name: refresh, type: retry, workflowId: refresh, retryAfter: 3, retryLimit: 1}
  - workflowId: refresh
    steps:
      - stepId: r
        operationId: count
        parameters: [{name: name, in: path, value: refresh}]
""",
    )
    app, seen, _ = _app()
    clock = ManualClock()
    result = await _run(doc, app, clock=clock)
    assert result.status == "succeeded", result.error
    assert [s.path for s in seen] == ["/count/a", "/count/refresh", "/count/a"]
    assert clock.sleeps == [3.0]


async def test_workflow_depends_on_runs_each_dependency_once(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    dependsOn: [setup]
    steps:
      - stepId: call
        workflowId: helper
      - stepId: after
        operationId: count
        parameters: [{name: name, in: path, value: main}]
    outputs: {setup: $workflows.setup.outputs.n}
  - workflowId: helper
    dependsOn: [setup]
    steps:
      - stepId: h
        operationId: count
        parameters: [{name: name, in: path, value: helper}]
  - workflowId: setup
    steps:
      - stepId: s
        operationId: count
        parameters: [{name: name, in: path, value: setup}]
        outputs: {n: $response.body#/n}
    outputs: {n: $steps.s.outputs.n}
""",
    )
    app, seen, hits = _app()
    result = await _run(doc, app)
    assert result.status == "succeeded", result.error
    assert hits == Counter({"setup": 1, "helper": 1, "main": 1})
    assert [s.path for s in seen] == ["/count/setup", "/count/helper", "/count/main"]
    assert result.outputs == {"setup": 1}


async def test_failed_dependency_fails_the_workflow_before_its_steps(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    dependsOn: [setup]
    steps:
      - stepId: main
        operationId: count
        parameters: [{name: name, in: path, value: main}]
  - workflowId: setup
    steps:
      - stepId: s
        operationId: count
        parameters: [{name: name, in: path, value: setup}]
        successCriteria: [{condition: $statusCode == 418}]
""",
    )
    app, _seen, hits = _app()
    result = await _run(doc, app)
    assert result.status == "failed"
    assert result.error is not None and "dependency 'setup' failed" in result.error.reason
    assert hits == Counter({"setup": 1})


async def test_step_depends_on_runs_the_dependency_first_and_each_step_once(
    tmp_path: Path,
) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: use
        operationId: count
        dependsOn: [make]
        parameters: [{name: name, in: path, value: 'use-{$steps.make.outputs.name}'}]
      - stepId: report
        operationId: count
        parameters: [{name: name, in: path, value: 'report-{$steps.late.outputs.name}'}]
      - stepId: make
        operationId: count
        parameters: [{name: name, in: path, value: made}]
        outputs: {name: $response.body#/name}
      - stepId: late
        operationId: count
        parameters: [{name: name, in: path, value: late}]
        outputs: {name: $response.body#/name}
""",
        version="1.1.0",
    )
    app, seen, _ = _app()
    result = await _run(doc, app)
    assert result.status == "succeeded", result.error
    # dependsOn moves `make` before `use`; in such a workflow an output reference is an
    # implicit dependency too (`late` before `report`); nothing runs twice
    assert [s.path for s in seen] == ["/count/made", "/count/use-made", "/count/late",
                                      "/count/report-late"]  # fmt: skip
    assert [s.step_id for s in result.steps] == ["make", "use", "late", "report"]


async def test_a_goto_past_a_dependency_fails_the_dependent_step_without_running_it(
    tmp_path: Path,
) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: start
        operationId: count
        parameters: [{name: name, in: path, value: start}]
        onSuccess: [{name: skip, type: goto, stepId: use}]
      - stepId: make
        operationId: count
        parameters: [{name: name, in: path, value: made}]
      - stepId: use
        operationId: count
        dependsOn: [make]
        parameters: [{name: name, in: path, value: use}]
""",
        version="1.1.0",
    )
    app, seen, _ = _app()
    result = await _run(doc, app)
    assert result.status == "failed" and result.error is not None
    assert result.error.step == "use"
    assert "depends on step 'make'" in result.error.reason
    assert "has not completed" in result.error.reason
    assert [s.path for s in seen] == ["/count/start"]


async def test_a_step_depends_on_a_step_of_another_workflow(tmp_path: Path) -> None:
    body = """
workflows:
  - workflowId: setup
    steps:
      - stepId: make
        operationId: count
        parameters: [{name: name, in: path, value: made}]
  - workflowId: w
    DEPS
    steps:
      - stepId: use
        operationId: count
        dependsOn: [$workflows.setup.steps.make]
        parameters: [{name: name, in: path, value: use}]
"""
    app, seen, _ = _app()
    doc = _doc(tmp_path, body.replace("DEPS", "dependsOn: [setup]"), version="1.1.0")
    result = await _run(doc, app, workflow_id="w")
    assert result.status == "succeeded", result.error
    assert [s.path for s in seen] == ["/count/made", "/count/use"]
    seen.clear()
    doc = _doc(tmp_path, body.replace("DEPS", "summary: no workflow dependency"), version="1.1.0")
    result = await _run(doc, app, workflow_id="w")
    assert result.status == "failed" and result.error is not None
    assert "step 'make' of workflow 'setup'" in result.error.reason
    assert seen == []


# -- 1.1 Selector Objects ------------------------------------------------------------------------


async def test_selector_objects_in_outputs_and_parameter_values(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    inputs: {type: object}
    steps:
      - stepId: first
        operationId: getItem
        parameters:
          - name: id
            in: path
            value: {context: $inputs.order, selector: /lines/1/sku, type: jsonpointer}
        outputs:
          id: {context: $response.body, selector: $.id, type: jsonpath}
          both: {context: $inputs.order, selector: '$.lines[*].sku',
                 type: {type: jsonpath, version: rfc9535}}
      - stepId: x
        operationId: postXml
        requestBody: {payload: '<a/>'}
        outputs:
          total: {context: $response.body, selector: //order/total, type: xpath}
          orderId: {context: $response.body, selector: string(//order/@id), type: xpath}
          none: {context: $response.body, selector: //nothing, type: xpath}
    outputs:
      id: $steps.first.outputs.id
      skus: {context: $steps.first.outputs.both, selector: '$[0]', type: jsonpath}
      total: $steps.x.outputs.total
""",
        version="1.1.0",
    )
    app, seen, _ = _app()
    order = {"lines": [{"sku": "A-1"}, {"sku": "B 2"}]}
    result = await _run(doc, app, inputs={"order": order})
    assert seen[0].path == "/items/B 2"  # (decoded by the server)
    first, x = result.steps
    assert first.outputs == {"id": "B 2", "both": ["A-1", "B 2"]}
    assert x.outputs == {"total": "12.5", "orderId": "o-9"}
    assert "none" in x.output_errors and "//nothing" in x.output_errors["none"]
    assert result.outputs == {"id": "B 2", "skus": "A-1", "total": "12.5"}


async def test_malformed_selector_object_is_a_document_error(tmp_path: Path) -> None:
    from weft.errors import DocumentError

    doc = _doc(
        tmp_path,
        """
workflows:
  - workflowId: w
    steps:
      - stepId: a
        operationId: getItem
        parameters: [{name: id, in: path, value: x}]
        outputs:
          bad: {context: $response.body, selector: '$[?(', type: jsonpath}
""",
        version="1.1.0",
    )
    app, seen, _ = _app()
    with pytest.raises(DocumentError, match="invalid Selector Object"):
        await _run(doc, app)
    assert seen == []
