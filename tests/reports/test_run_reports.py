"""``weft run --report/--junit/--har`` and ``weft batch --report/--junit`` against a loopback
API: the files say what happened (timeline, steps, failures), validate against a JUnit XML
schema and a HAR 1.2 JSON Schema (written for these tests, in ``data/``), and hold no form of
the planted secret."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema

from tests.reports.support import SECRET, api_app, leaks, run_flow, serving, weft, write_flow
from weft.store import open_store

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(DATA / "junit.xsd"))


@pytest.fixture(scope="module")
def har_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((DATA / "har-1.2.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    with serving(api_app()) as base:
        yield base


def _bars(html: str, lane: str) -> list[str]:
    """The attempt bars (their ``title``) of one lane of a timeline."""
    match = re.search(rf'<div class="lane" data-step="{re.escape(lane)}">(.*?)</div></div>', html)
    assert match, f"no lane {lane}"
    return re.findall(r'<span class="bar[^"]*" data-attempt="\d+"[^>]*title="([^"]*)"', match[1])


def test_a_polling_run_reports_every_attempt(
    tmp_path: Path, api: str, junit_schema: Any, har_validator: Any
) -> None:
    flow = write_flow(tmp_path)
    report, junit, har = tmp_path / "run.html", tmp_path / "junit.xml", tmp_path / "run.har"
    result = run_flow(
        flow, api, tmp_path / "runs.db", "poll", "--report", str(report), "--junit", str(junit),
        "--har", str(har), inputs=("-i", "item=7"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = report.read_text()
    # the timeline is the live one: every attempt where it happened, and the waits between
    assert len(_bars(html, "poll/getItem")) == 1
    polls = _bars(html, "poll/pollJob")
    assert len(polls) == 4
    assert [t.split(":")[0] for t in polls] == [f"pollJob attempt {n}" for n in (1, 2, 3, 4)]
    assert html.count('class="bar wait"') == 3  # retryAfter before attempts 2, 3 and 4
    assert "placed from totals" not in html
    assert "&quot;answer&quot;: 42" in html  # the outputs
    assert 'data-step="pollJob"' in html  # the requests: every exchange
    assert html.count('<details class="req"') == 6
    assert "made by weft" in html  # a request body, as sent
    assert "<script" not in html and "<link" not in html and "http-equiv" not in html

    xml = junit.read_bytes()
    junit_schema.validate(xml)
    suites = xmlschema.XMLSchema(str(DATA / "junit.xsd")).to_dict(xml)
    runs, steps = suites["testsuite"]
    assert runs["@name"] == "runs" and runs["@tests"] == 1 and runs["@failures"] == 0
    assert [case["@name"] for case in steps["testcase"]] == ["getItem", "createJob", "pollJob"]

    log = json.loads(har.read_text())
    har_validator.validate(log)
    entries = log["log"]["entries"]
    assert [e["request"]["method"] for e in entries] == ["GET", "POST", "GET", "GET", "GET", "GET"]
    assert [e["response"]["status"] for e in entries] == [200, 201, 200, 200, 200, 200]
    page = log["log"]["pages"][0]["id"]
    for entry in entries:
        assert entry["pageref"] == page
        timings = [v for k, v in entry["timings"].items() if k != "comment" and v != -1]
        assert entry["time"] == pytest.approx(sum(timings))
        assert {"name": "X-Api-Key", "value": "***"} in entry["request"]["headers"]
    created = entries[1]
    assert json.loads(created["request"]["postData"]["text"]) == {
        "item": "7",
        "note": "made by weft",
    }
    assert {"name": "Set-Cookie", "value": "***"} in [
        {"name": h["name"].title(), "value": h["value"]} for h in created["response"]["headers"]
    ]
    assert json.loads(entries[-1]["response"]["content"]["text"])["status"] == "done"
    for path in (report, junit, har):
        assert leaks(path.read_bytes(), SECRET) == [], path


def test_a_failed_run_reports_its_failure(tmp_path: Path, api: str, junit_schema: Any) -> None:
    flow = write_flow(tmp_path)
    report, junit = tmp_path / "run.html", tmp_path / "junit.xml"
    result = run_flow(
        flow, api, tmp_path / "runs.db", "broken", "--report", str(report), "--junit", str(junit)
    )
    assert result.exit_code == 1
    xml = junit.read_bytes()
    junit_schema.validate(xml)
    data = junit_schema.to_dict(xml)
    assert data["@failures"] == 2  # the run and its step
    run_case = data["testsuite"][0]["testcase"][0]
    assert run_case["failure"]["@type"] == "http_status"
    assert "404" in run_case["failure"]["@message"]
    assert "server said: title 'Not Found', detail 'no item missing'" in run_case["failure"]["$"]
    step_case = data["testsuite"][1]["testcase"][0]
    assert step_case["@name"] == "getMissing" and step_case["failure"]["@type"] == "http_status"
    html = report.read_text()
    assert '<div class="error" data-kind="http_status">' in html
    assert "no item missing" in html
    assert "weft resume" not in html  # a 404 happens again: nothing to resume


def test_a_resumable_run_says_how_to_resume(tmp_path: Path, api: str) -> None:
    flow = write_flow(tmp_path)
    report = tmp_path / "run.html"
    result = run_flow(flow, api, tmp_path / "runs.db", "flaky", "--report", str(report))
    assert result.exit_code == 1
    [run] = open_store(tmp_path / "runs.db").list_runs()
    html = report.read_text()
    assert f'<code class="resume-command">weft resume {run.run_id}</code>' in html
    assert "<code>-i apiKey=…</code>" in html  # the secret input is given again
    assert "upstream is down" in html


def test_the_secret_in_any_encoding_stays_out_of_every_file(
    tmp_path: Path, har_validator: Any, junit_schema: Any
) -> None:
    from aiohttp import web

    secret = 'pa"ss\\wörd+/ 9&=x-31'  # needs escaping in JSON, in URLs and in forms

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        answer = {"query": dict(request.query), "raw": body.decode(), "qs": request.query_string}
        response = web.json_response(answer)
        response.set_cookie("session", "s1")
        return response

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/form", echo)
    (tmp_path / "echo.openapi.yaml").write_text(ECHO_OPENAPI)
    (tmp_path / "echo.arazzo.yaml").write_text(ECHO_ARAZZO)
    files = [tmp_path / name for name in ("x.html", "x.xml", "x.har")]
    with serving(app) as base:
        result = weft(
            "run", str(tmp_path / "echo.arazzo.yaml"), "--server",
            f"api={base.removesuffix('/v1')}", "--store", str(tmp_path / "s.db"),
            "-i", f"pw={secret}", "--report", str(files[0]), "--junit", str(files[1]),
            "--har", str(files[2]),
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    har = json.loads(files[2].read_text())
    har_validator.validate(har)
    junit_schema.validate(files[1].read_bytes())
    json_entry, form_entry = har["log"]["entries"]
    assert json_entry["request"]["url"].endswith("/echo?key=***")
    assert json_entry["request"]["queryString"] == [{"name": "key", "value": "***"}]
    assert json.loads(json_entry["request"]["postData"]["text"]) == {"token": "***", "note": "x"}
    echoed = json.loads(json_entry["response"]["content"]["text"])
    assert echoed["query"] == {"key": "***"} and echoed["qs"] == "key=***"
    assert json.loads(echoed["raw"]) == {"token": "***", "note": "x"}
    assert form_entry["request"]["postData"]["params"] == [
        {"name": "token", "value": "***"},
        {"name": "note", "value": "x"},
    ]
    for path in files:
        assert leaks(path.read_bytes(), secret) == [], path


ECHO_OPENAPI = """
openapi: 3.1.0
info: {title: echo, version: '1'}
servers: [{url: 'http://example.invalid'}]
paths:
  /echo:
    post:
      operationId: echoJson
      parameters: [{name: key, in: query, schema: {type: string}}]
      requestBody: {content: {application/json: {schema: {type: object}}}}
  /form:
    post:
      operationId: echoForm
      requestBody: {content: {application/x-www-form-urlencoded: {schema: {type: object}}}}
"""

ECHO_ARAZZO = """
arazzo: 1.0.1
info: {title: echo, version: '1'}
sourceDescriptions: [{name: api, url: ./echo.openapi.yaml, type: openapi}]
workflows:
  - workflowId: echo
    inputs: {type: object, properties: {pw: {type: string, format: password}}}
    steps:
      - stepId: json
        operationId: echoJson
        parameters: [{name: key, in: query, value: $inputs.pw}]
        requestBody: {payload: {token: $inputs.pw, note: x}}
      - stepId: form
        operationId: echoForm
        requestBody:
          contentType: application/x-www-form-urlencoded
          payload: {token: $inputs.pw, note: x}
"""


def test_a_batch_reports_every_row(tmp_path: Path, api: str, junit_schema: Any) -> None:
    flow = write_flow(tmp_path)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"item": "1"}\n{"item": "missing"}\n{"item": "3"}\n')
    report, junit = tmp_path / "batch.html", tmp_path / "batch.xml"
    result = weft(
        "batch", str(flow), "-w", "poll", "--inputs", str(rows), "--server", f"api={api}",
        "--store", str(tmp_path / "runs.db"), "--pace", "off", "-i", f"apiKey={SECRET}",
        "--report", str(report), "--junit", str(junit),
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # one row failed
    xml = junit.read_bytes()
    junit_schema.validate(xml)
    data = junit_schema.to_dict(xml)
    runs = data["testsuite"][0]
    assert runs["@tests"] == 3 and runs["@failures"] == 1
    names = [case["@name"] for case in runs["testcase"]]
    assert [n.rsplit(" ", 2)[1:] for n in names] == [["(row", "1)"], ["(row", "2)"], ["(row", "3)"]]
    failed = runs["testcase"][1]
    assert failed["failure"]["@type"] == "http_status" and "404" in failed["failure"]["@message"]
    assert len(data["testsuite"]) == 4  # the runs, then one suite of steps per run
    html = report.read_text()
    assert html.count('<section class="run"') == 3
    assert html.count('data-status="failed"') >= 2  # in the table and in its section
    for path in (report, junit):
        assert leaks(path.read_bytes(), SECRET) == [], path


def test_a_report_that_cannot_be_written_stops_before_the_run(tmp_path: Path) -> None:
    flow = write_flow(tmp_path)
    missing = tmp_path / "nowhere" / "run.html"
    result = run_flow(flow, "http://127.0.0.1:9/v1", tmp_path / "s.db", "poll",
                      "--report", str(missing), inputs=("-i", "item=1"))  # fmt: skip
    assert result.exit_code == 2
    assert "cannot write --report" in result.output and "does not exist" in result.output
    assert not (tmp_path / "s.db").exists()  # nothing ran, nothing was recorded
    result = run_flow(flow, "http://127.0.0.1:9/v1", tmp_path / "s.db", "poll",
                      "--junit", str(tmp_path), inputs=("-i", "item=1"))  # fmt: skip
    assert result.exit_code == 2 and "is a directory" in result.output
