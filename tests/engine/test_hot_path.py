"""What the per-step fast paths reuse is still right: request summaries, snapshots, progress."""

from __future__ import annotations

import asyncio
import io

import orjson

from tests.conftest import shared_path
from tests.engine.helpers import MemoryRecorder
from weft.api import run_async
from weft.document import load
from weft.effects import HttpRequest, NullRecorder
from weft.effects.clock import ManualClock
from weft.engine.memo import RunMemo
from weft.engine.options import RunOptions
from weft.engine.pacing import parse_pace
from weft.engine.plan import StepPlan
from weft.engine.requests import BuiltRequest, build_request
from weft.engine.result import RunEvent
from weft.engine.runner import RunEffects, Runner, select_plan
from weft.engine.state import Frame, frame_to_dict
from weft.expressions.context import EvalContext
from weft.progress import FLUSH_INTERVAL, ProgressPrinter
from weft.secrets import SecretSet, placeholder
from weft.store.codec import dump
from weft.testing.seed_server import SeedServerConfig, seed_server

SEED = ("seed", "arazzo", "civitai-model-version-to-generation-workflow.yml")
TOKEN = "tok-hot-path-5521"
INPUTS = {"apiKey": TOKEN, "modelVersionId": 42, "engine": "sdxl", "prompt": "a heron"}


def _runner(options: RunOptions | None = None) -> tuple[Runner, StepPlan]:
    loaded = load(str(shared_path(*SEED)))
    effects = RunEffects(transport=None, clock=ManualClock(), recorder=NullRecorder())  # type: ignore[arg-type]
    runner = Runner(loaded, options or RunOptions(), effects, run_id="r-hot-path")
    plan = select_plan(loaded, None)
    return runner, plan.steps[2]


def _built(url: str, auth: str) -> BuiltRequest:
    request = HttpRequest("GET", url, [("Authorization", auth), ("X-Trace", "t-123456")])
    return BuiltRequest(request, {}, {}, {}, None)


async def test_every_poll_record_carries_its_request_with_secrets_masked() -> None:
    recorder = MemoryRecorder()
    async with seed_server(SeedServerConfig(polls_before_terminal=4, expected_token=TOKEN)) as srv:
        result = await run_async(
            shared_path(*SEED),
            inputs=INPUTS,
            servers={
                "civitaiSiteApi": srv.base_url + "/api/v1",
                "civitaiOrchestrationApi": srv.base_url,
            },
            pace="off",
            recorder=recorder,
        )
    assert result.status == "succeeded", result.error
    records = [kw["record"] for name, kw in recorder.calls if name == "attempt_finished"]
    polls = [r for r in records if r["stepId"] == "pollWorkflow"]
    assert len(polls) == 5
    workflow_id = result.outputs["workflowId"]
    for record in records:
        request = record["request"]
        assert ["Authorization", "***"] in request["headers"]
        assert TOKEN not in orjson.dumps(record).decode()
    for record in polls:
        assert record["request"]["url"].endswith(f"/v2/consumer/workflows/{workflow_id}")
        assert record["request"]["method"] == "GET"
    submit = next(r for r in records if r["stepId"] == "submitGeneration")
    assert submit["request"]["method"] == "POST" and submit["request"]["bodyBytes"] > 0


def test_a_reused_request_summary_follows_new_secrets() -> None:
    runner, sp = _runner()
    memo, secrets = RunMemo(), runner.state.secrets
    url = "http://127.0.0.1:1/v2/consumer/workflows/wf-secret-42"
    first = memo.summary(sp, _built(url, "Bearer abc"), secrets)
    assert first["url"] == url and first["headers"] == [
        ["Authorization", "***"],
        ["X-Trace", "t-123456"],
    ]
    assert memo.summary(sp, _built(url, "Bearer abc"), secrets) == first  # the same again
    secrets.add("wf-secret-42")  # a secret learnt since: the next summary masks it
    again = memo.summary(sp, _built(url, "Bearer abc"), secrets)
    assert again["url"] == "http://127.0.0.1:1/v2/consumer/workflows/***"
    other = memo.summary(sp, _built(url + "?page=2", "Bearer abc"), secrets)
    assert other["url"].endswith("/***?page=2")
    secrets.add("t-123456")
    assert memo.summary(sp, _built(url, "Bearer abc"), secrets)["headers"][1] == [
        "X-Trace",
        "***",
    ]


def test_snapshot_options_are_the_runs_options() -> None:
    servers = {"civitaiSiteApi": "http://127.0.0.1:1"}
    options = RunOptions.build(servers=servers, pace="off")
    runner, _ = _runner(options)
    first = runner.state.snapshot()["options"]
    assert first == {
        "servers": {"civitaiSiteApi": "http://127.0.0.1:1"},
        "strict": False,
        "maxSteps": 1000,
        "timeout": None,
        "pace": "off",
        "retry": {"attempts": 5, "base": 1.0, "cap": 30.0},
    }
    servers["civitaiOrchestrationApi"] = "http://127.0.0.1:2"  # the caller's dict, edited
    assert runner.state.snapshot()["options"]["servers"] == {"civitaiSiteApi": "http://127.0.0.1:1"}
    assert RunOptions.from_snapshot(first) == options  # what resume reads back
    other = RunOptions.build(options, max_steps=5, pace=parse_pace("1,2"))
    second = _runner(other)[0].state.snapshot()["options"]
    assert second["maxSteps"] == 5 and second["pace"] == "1,2"
    assert first["maxSteps"] == 1000  # not changed afterwards


def test_snapshot_masks_nested_outputs_with_their_names() -> None:
    runner, _ = _runner()
    plan = select_plan(runner.loaded, None)
    frame = Frame(plan=plan, inputs={"apiKey": TOKEN, "prompt": "p"}, ref="")
    secrets = SecretSet(["hdr-secret-value"])
    by_value = {TOKEN: "apiKey"}
    frame.step_outputs["s"] = {
        "a": {"b": "hdr-secret-value", "c": 1},
        "l": ["x", "hdr-secret-value", TOKEN],
        "n": None,
        "raw": b"bytes",
    }
    d = frame_to_dict(frame, secrets, by_value)
    assert d["stepOutputs"]["s"] == {
        "a": {"b": placeholder("steps.s.outputs.a.b"), "c": 1},
        "l": ["x", placeholder("steps.s.outputs.l[1]"), placeholder("apiKey")],
        "n": None,
        "raw": None,
    }
    assert d["inputs"] == {"apiKey": placeholder("apiKey"), "prompt": "p"}
    secrets.add("p")  # a new secret: the cached masked copies are not reused
    assert frame_to_dict(frame, secrets, by_value)["inputs"]["prompt"] == placeholder("prompt")


def test_a_snapshot_keeps_the_workflows_finished_when_it_was_taken() -> None:
    # a snapshot is serialised only when the store writes it, maybe after the engine has
    # finished more workflows: it must hold its own dict of them, with or without secrets
    for secret in (None, "unrelated-secret-value"):
        runner, _ = _runner()
        state = runner.state
        if secret:
            state.secrets.add(secret)
        state.workflows["first"] = {"inputs": {"a": 1}, "outputs": {"b": 2}}
        snap = state.snapshot()
        state.workflows["second"] = {"inputs": {}, "outputs": {}}
        assert list(snap["workflows"]) == ["first"], secret


def test_store_json_is_the_same_with_and_without_non_string_keys() -> None:
    value = {"a": [1, 2.5, None, True], "b": {"c": "d"}, "e": b"bytes"}
    option = orjson.OPT_NON_STR_KEYS
    assert dump(value) == orjson.dumps(value, default=lambda v: v.decode(), option=option)
    assert dump({1: "one", None: {2.5: "x"}}) == b'{"1":"one","null":{"2.5":"x"}}'


def _finished(step: str, ms: float = 1.0) -> RunEvent:
    return RunEvent("step_finished", "r1", "wf", step, 1, 200, True, ms / 1000, {"n": 1})


def test_progress_outside_an_event_loop_is_written_at_once() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out, color=False)
    printer(RunEvent("step_started", "r1", "wf", "a", 1))
    assert out.getvalue() == ""  # nothing to say when a step starts
    printer(_finished("a"))
    assert out.getvalue() == "wf/a #1 200 1ms ok {'n': 1}\n"


async def test_progress_lines_of_a_fast_loop_are_batched_and_all_written() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out, color=False)
    printer(RunEvent("run_started", "r1", "wf"))
    assert out.getvalue() == "run r1 wf\n"
    for step in ("a", "b", "c"):
        printer(_finished(step))
    pending = out.getvalue()
    printer(RunEvent("waiting", "r1", "wf", "c", delay=2.0))  # written before the wait
    lines = out.getvalue().splitlines()
    assert lines == ["run r1 wf", "wf/a #1 200 1ms ok {'n': 1}", "wf/b #1 200 1ms ok {'n': 1}",
                     "wf/c #1 200 1ms ok {'n': 1}", "  … wf/c waiting 2s"]  # fmt: skip
    assert pending.count("\n") <= 4
    printer(_finished("d"))
    await asyncio.sleep(FLUSH_INTERVAL * 4)  # the batch's timer writes it without another event
    assert out.getvalue().splitlines()[-1] == "wf/d #1 200 1ms ok {'n': 1}"
    printer(_finished("e"))
    printer(RunEvent("run_finished", "r1", "wf", status="succeeded"))
    assert out.getvalue().splitlines()[-2:] == ["wf/e #1 200 1ms ok {'n': 1}", "succeeded wf"]


def test_progress_written_by_a_later_event_loop_too() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out, color=False)

    async def one(step: str) -> None:
        printer(_finished(step))
        await asyncio.sleep(FLUSH_INTERVAL * 4)

    asyncio.run(one("a"))
    asyncio.run(one("b"))
    assert out.getvalue().splitlines() == [
        "wf/a #1 200 1ms ok {'n': 1}",
        "wf/b #1 200 1ms ok {'n': 1}",
    ]


def test_a_poll_reuses_its_request_only_while_the_values_are_the_same() -> None:
    _, poll = _runner()
    cache: dict[int, tuple[object, ...]] = {}
    secrets = SecretSet()

    def build(workflow_id: object, base: str = "http://h") -> BuiltRequest:
        ctx = EvalContext(
            inputs={"apiKey": "key-123456"},
            steps={"submitGeneration": {"workflowId": workflow_id}},
        )
        return build_request(poll, ctx, base, secrets, set(), cache)

    first = build("wf-1")
    assert first.request.url == "http://h/v2/consumer/workflows/wf-1"
    assert first.request.headers == [("Authorization", "Bearer key-123456")]
    assert secrets.is_secret("Bearer key-123456") and secrets.is_secret("key-123456")
    assert build("wf-1") is first  # the same values: the same request
    assert build("wf 2").request.url == "http://h/v2/consumer/workflows/wf%202"
    assert build(1).request.url.endswith("/1")
    assert build(True).request.url.endswith("/true")  # equal to 1, but not the same value
    assert build(1.5).request.url.endswith("/1.5")
    assert (
        build("wf-1", base="http://other").request.url == "http://other/v2/consumer/workflows/wf-1"
    )
    nested = build({"a": "b"})  # not a primitive: built every time
    assert nested.request.url.endswith("/a,b") and build({"a": "b"}) is not nested
