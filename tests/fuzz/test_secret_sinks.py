"""No secret reaches any output, in any spelling, whatever the server echoes.

A loopback server answers every request with the request itself (its URL, headers and body)
in 2xx, 4xx and 5xx answers, as JSON, HTML and text. Secrets are planted the four ways a
workflow sends them: a bearer token header, a ``Basic`` credential, an API key query parameter
and a ``format: password`` input in a JSON and a form body. Then every sink is searched for
every spelling of every secret (:func:`tests.fuzz.leaks.spellings_of`): the run store's files
(SQLite, WAL, SHM), stdout (``--json`` and text), stderr (step lines, errors), ``weft runs
show`` (text and ``--json``), ``weft runs list --json``, ``weft batch``'s results file, and
``weft civitai generate``'s error line and ``--json``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import ClientSession, web

from tests.fuzz.cli import Outcome, assert_clean, run_cli
from tests.fuzz.leaks import find_leaks, store_files
from tests.fuzz.servers import EchoServer
from weft.effects.clock import SystemClock
from weft.testing.threaded import AppThread

TOKEN = 'tok+SEKRIT/b64=="q\\'  # a bearer token with a quote and a backslash
API_KEY = "SEKRIT+b64/key=é€"  # percent-encoded in the URL (UTF-8, upper-case hex)
PASSWORD = 'pa"ss\\wo\trd€!'  # JSON-escaped in a body; quote_plus-encoded in a form
BASIC_PASSWORD = "b4sic-Pa55+/="
BASIC = base64.b64encode(f"someone@example.com:{BASIC_PASSWORD}".encode()).decode()
SECRETS = (TOKEN, API_KEY, PASSWORD, BASIC_PASSWORD, BASIC)

_ANSWERED = {"200": {"description": "the request, echoed"}}


def _operation(op_id: str, method: str, kind: str, **extra: Any) -> dict[str, Any]:
    params = [
        {"name": "status", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "as", "in": "query", "schema": {"type": "string"}},
        {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
        {"name": "api_key", "in": "query", "schema": {"type": "string"}},
    ]
    return {f"/{kind}/{{status}}": {method: {"operationId": op_id, "parameters": params,
                                              "responses": _ANSWERED, **extra}}}  # fmt: skip


def _body(media: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"user": {}, "password": {}}}
    return {"requestBody": {"content": {media: {"schema": schema}}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "echo", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:9"}],
    "paths": {
        **_operation("get", "get", "echo"),
        **_operation("postJson", "post", "json", **_body("application/json")),
        **_operation("postForm", "post", "form", **_body("application/x-www-form-urlencoded")),
        # credentials from the description's security schemes (``--auth``)
        **_operation("getBearer", "get", "bearer", security=[{"bearer": []}]),
        **_operation("getBasic", "get", "basic", security=[{"basic": []}]),
        **_operation("getKey", "get", "key", security=[{"key": []}]),
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            "key": {"type": "apiKey", "in": "query", "name": "key"},
        }
    },
}


def _step(op: str, auth: str | None, **extra: Any) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": "status", "in": "path", "value": "$inputs.status"},
        {"name": "as", "in": "query", "value": "$inputs.style"},
    ]
    if auth is not None:
        params.append({"name": "Authorization", "in": "header", "value": auth})
    step: dict[str, Any] = {
        "stepId": "call",
        "operationId": op,
        "parameters": params,
        "successCriteria": [{"condition": "$statusCode == 200"}],
        "outputs": {"body": "$response.body", "echoed": "$response.header.X-Echo"},
    }
    step.update(extra)
    return step


def _workflow(workflow_id: str, step: dict[str, Any]) -> dict[str, Any]:
    secret = {"type": "string", "format": "password"}
    return {
        "workflowId": workflow_id,
        "inputs": {
            "type": "object",
            "properties": {
                "token": secret,
                "key": secret,
                "pw": secret,
                "cred": {"type": "string"},
                "status": {"type": "integer"},
                "style": {"type": "string"},
            },
        },
        "steps": [step],
        "outputs": {
            "body": "$steps.call.outputs.body",
            "echoed": "$steps.call.outputs.echoed",
        },
    }


_PASSWORD_BODY = {"user": "someone", "password": "$inputs.pw"}
ARAZZO: dict[str, Any] = {
    "arazzo": "1.0.1",
    "info": {"title": "echo", "version": "1"},
    "sourceDescriptions": [{"name": "echo", "url": "echo.openapi.yaml", "type": "openapi"}],
    "workflows": [
        _workflow("bearer", _step("get", "Bearer {$inputs.token}")),
        _workflow("basic", _step("get", "Basic {$inputs.cred}")),
        _workflow(
            "apikey",
            _step(
                "get",
                None,
                parameters=[
                    {"name": "status", "in": "path", "value": "$inputs.status"},
                    {"name": "as", "in": "query", "value": "$inputs.style"},
                    {"name": "api_key", "in": "query", "value": "$inputs.key"},
                ],
            ),
        ),
        _workflow(
            "json-body",
            _step(
                "postJson",
                None,
                requestBody={"contentType": "application/json", "payload": _PASSWORD_BODY},
            ),
        ),
        _workflow(
            "form-body",
            _step(
                "postForm",
                None,
                requestBody={
                    "contentType": "application/x-www-form-urlencoded",
                    "payload": _PASSWORD_BODY,
                },
            ),
        ),
        _workflow("auth-bearer", _step("getBearer", None)),
        _workflow("auth-basic", _step("getBasic", None)),
        _workflow("auth-apikey", _step("getKey", None)),
        # a criterion that reads the echoed body: its explanation quotes what it compared
        _workflow(
            "criterion",
            _step(
                "postJson",
                "Bearer {$inputs.token}",
                requestBody={"contentType": "application/json", "payload": _PASSWORD_BODY},
                successCriteria=[{"condition": "$response.body#/error == 'never'"}],
            ),
        ),
    ],
}
WORKFLOWS = [w["workflowId"] for w in ARAZZO["workflows"]]
# (status, answer style): successes, refusals and server errors in each body style
ANSWERS = [("200", "json"), ("200", "text"), ("200", "bin"), ("401", "json"), ("403", "html"),
           ("500", "text"), ("502", "bin")]  # fmt: skip


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("echo-doc")
    (folder / "echo.openapi.yaml").write_text(yaml.safe_dump(OPENAPI, sort_keys=False))
    path = folder / "echo.arazzo.yaml"
    path.write_text(yaml.safe_dump(ARAZZO, sort_keys=False))
    return path


# the secret inputs each workflow sends (``cred`` is a plain input: it is secret because a
# sensitive header sends it, which weft learns from the document)
USES = {"bearer": ("token",), "basic": ("cred",), "apikey": ("key",), "json-body": ("pw",),
        "form-body": ("pw",), "criterion": ("token", "pw"), "auth-bearer": (),
        "auth-basic": (), "auth-apikey": ()}  # fmt: skip
VALUES = {"token": TOKEN, "key": API_KEY, "pw": PASSWORD, "cred": BASIC}
# the credentials of the description's security schemes, given with --auth
AUTH = {"auth-bearer": f"bearer={TOKEN}", "auth-apikey": f"key={API_KEY}",
        "auth-basic": f"basic=someone@example.com:{BASIC_PASSWORD}"}  # fmt: skip


def _inputs(workflow: str, status: str, style: str) -> list[str]:
    args = ["-i", f"status={status}", "-i", f"style={style}"]
    for name in USES[workflow]:
        args += ["-i", f"{name}={VALUES[name]}"]
    if workflow in AUTH:
        args += ["--auth", AUTH[workflow]]
    return args


def _assert_no_leak(outputs: dict[str, bytes]) -> None:
    leaks = find_leaks(SECRETS, outputs)
    assert not leaks, "\n".join(leaks[:20])


def _outputs(*outcomes: Outcome) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for o in outcomes:
        name = " ".join(o.args[:2])
        found[f"{name} stdout"] = o.stdout.encode()
        found[f"{name} stderr"] = o.stderr.encode()
    return found


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_weft_run_and_runs_show_never_show_a_secret(
    echo: EchoServer, document: Path, tmp_path: Path, workflow: str
) -> None:
    store = tmp_path / "runs.sqlite3"
    outcomes: list[Outcome] = []
    run_ids: list[str] = []
    for status, style in ANSWERS:
        for json_flag in (["--json"], []):
            run = run_cli(
                ["run", str(document), "-w", workflow, *_inputs(workflow, status, style),
                 "--server", f"echo={echo.base_url}", "--store", str(store), *json_flag]
            )  # fmt: skip
            assert_clean(run)
            assert run.code == (0 if status == "200" and workflow != "criterion" else 1), run
            outcomes.append(run)
            if json_flag:
                run_ids.append(json.loads(run.stdout)["runId"])
    # the server did receive every secret it was meant to (else this test proves nothing)
    sent = "\n".join(echo.requests)
    planted = {"bearer": TOKEN, "apikey": "SEKRIT%2Bb64%2Fkey%3D", "basic": BASIC,
               "json-body": "pa\\\"ss", "form-body": "pa%22ss", "criterion": TOKEN,
               "auth-bearer": TOKEN, "auth-apikey": "SEKRIT%2Bb64%2Fkey%3D",
               "auth-basic": BASIC}  # fmt: skip
    assert planted[workflow] in sent
    for run_id in run_ids:
        outcomes.append(run_cli(["runs", "show", run_id, "--store", str(store), "--json"]))
        outcomes.append(run_cli(["runs", "show", run_id, "--store", str(store)]))
    outcomes.append(run_cli(["runs", "list", "--store", str(store), "--json"]))
    for o in outcomes:
        assert_clean(o)
    _assert_no_leak({**_outputs(*outcomes), **store_files(store)})


def test_weft_batch_results_and_store_never_hold_a_secret(
    echo: EchoServer, document: Path, tmp_path: Path
) -> None:
    rows = tmp_path / "rows.jsonl"
    store = tmp_path / "batch.sqlite3"
    outputs: dict[str, bytes] = {}
    for index, workflow in enumerate(WORKFLOWS):
        # rows answered 5xx are resumed within the batch (5 s later) for the first workflow:
        # the resumed runs' secrets are checked too; the others leave such rows failed at once
        outage_retries = "1" if index == 0 else "0"
        lines = [
            {"status": int(status), "style": style, **{n: VALUES[n] for n in USES[workflow]}}
            for status, style in ANSWERS
        ]
        rows.write_text("".join(json.dumps(line) + "\n" for line in lines))
        results = tmp_path / f"{workflow}.results.jsonl"
        outcome = run_cli(
            ["batch", str(document), "-w", workflow, "--inputs", str(rows),
             "--server", f"echo={echo.base_url}", "--store", str(store), "--out", str(results),
             "--json", "--outage-retries", outage_retries,
             *(["--auth", AUTH[workflow]] if workflow in AUTH else [])]
        )  # fmt: skip
        assert_clean(outcome)
        assert outcome.code == 1, outcome  # some rows answered 4xx/5xx
        outputs.update(_outputs(outcome))
        outputs[results.name] = results.read_bytes()
        assert len(results.read_text().splitlines()) == len(lines)
    outputs.update(store_files(store))
    _assert_no_leak(outputs)


# -- the Civitai command ----------------------------------------------------------------------
CIVITAI_TOKEN = 'civ+TOKEN/zz=="\\x'


class CivitaiEcho:
    """In front of the simulator: the Site API (``/api/v1``) is passed through unless
    ``echo_site`` is set; the Orchestration API answers ``status`` with the request echoed."""

    def __init__(self, simulator_url: str, status: int, echo_site: bool) -> None:
        self.simulator_url = simulator_url
        self.status = status
        self.echo_site = echo_site
        self.base_url = ""
        self.echoed: list[str] = []
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._host = AppThread(app, "civitai-echo")

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.path.startswith("/api/v1") and not self.echo_site:
            async with (
                ClientSession() as http,
                http.get(self.simulator_url + request.path_qs, headers=request.headers) as r,
            ):
                return web.Response(
                    status=r.status, body=await r.read(), content_type=r.content_type
                )
        text = f"{request.method} {request.url} {dict(request.headers)} {body!r}"
        self.echoed.append(request.headers.get("Authorization", ""))
        payload = {"title": text, "detail": text, "error": text, "errors": {"x": [text]}}
        return web.json_response(payload, status=self.status)

    def __enter__(self) -> CivitaiEcho:
        self.base_url = self._host.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._host.stop()


async def _no_wait(self: SystemClock, seconds: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture(scope="module")
def simulator_url() -> Iterator[str]:
    from weft.civitai.simulator import SimulatorConfig, start_simulator_thread

    sim = start_simulator_thread(SimulatorConfig.fast())
    try:
        yield sim.base_url
    finally:
        sim.stop()


@pytest.mark.parametrize(
    ("status", "echo_site"), [(400, True), (500, True), (400, False), (401, False), (403, False),
                              (500, False), (200, False)]
)  # fmt: skip
def test_civitai_generate_never_shows_the_token(
    simulator_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    echo_site: bool,
) -> None:
    # 5xx answers are retried with backoff: the waits are not what this test is about
    monkeypatch.setattr(SystemClock, "sleep", _no_wait)
    from weft.civitai.simulator import Catalog

    version = Catalog().find(role="checkpoint", can_generate=True)[0]
    store = tmp_path / "civitai.sqlite3"
    outcomes = []
    with CivitaiEcho(simulator_url, status, echo_site) as front:
        for as_json in ([], ["--json"]):
            outcome = run_cli(
                ["civitai", "generate", "--model-version", str(version.version_id),
                 "--prompt", "a fox", "--token", CIVITAI_TOKEN, "--api-base", front.base_url,
                 "--store", str(store), "--out", str(tmp_path / "out"), *as_json]
            )  # fmt: skip
            assert_clean(outcome)
            assert outcome.code in (1, 2, 4), outcome  # it failed, and said so
            outcomes.append(outcome)
    assert f"Bearer {CIVITAI_TOKEN}" in front.echoed  # it was sent, and echoed
    outputs = {**_outputs(*outcomes), **store_files(store)}
    leaks = find_leaks([CIVITAI_TOKEN, f"Bearer {CIVITAI_TOKEN}"], outputs)
    assert not leaks, "\n".join(leaks[:20])
