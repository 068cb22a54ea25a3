"""Resume after a crash: continue from the checkpoint, never re-send an unsafe request blindly."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.conftest import shared_path
from weft.api import resume_async, run_async
from weft.effects import HttpRequest, HttpResponse
from weft.effects.aiohttp_transport import AiohttpTransport
from weft.effects.clock import ManualClock
from weft.errors import UsageError
from weft.store import open_store
from weft.testing.seed_server import SeedServerConfig, seed_server
from weft.testing.store_contents import store_contents

SEED = ("seed", "arazzo", "civitai-model-version-to-generation-workflow.yml")
TOKEN = "tok-resume-secret-4242"
INPUTS = {"apiKey": TOKEN, "modelVersionId": 42, "engine": "sdxl", "prompt": "a fox"}


class Crash(BaseException):
    """Stands in for kill -9: nothing after it runs."""


class CrashingTransport:
    """Crashes on the n-th request whose URL contains ``match``; ``after`` = once it was sent."""

    def __init__(self, inner: AiohttpTransport, match: str, nth: int, after: bool) -> None:
        self.inner, self.match, self.nth, self.after = inner, match, nth, after
        self.seen = 0

    async def send(self, request: HttpRequest) -> HttpResponse:
        if self.match in request.url and request.method == self._method:
            self.seen += 1
            if self.seen == self.nth:
                if self.after:
                    await self.inner.send(request)
                raise Crash
        return await self.inner.send(request)

    _method = "POST"


def _servers(base: str) -> dict[str, str]:
    return {"civitaiSiteApi": base + "/api/v1", "civitaiOrchestrationApi": base}


async def _crash_then_resume(tmp_path: Path, method: str, match: str, nth: int, **resume_kw):  # type: ignore[no-untyped-def]
    doc = shared_path(*SEED)
    store = open_store(tmp_path / "runs.db")
    async with seed_server(SeedServerConfig(polls_before_terminal=2, expected_token=TOKEN)) as srv:
        async with AiohttpTransport() as inner:
            crashing = CrashingTransport(inner, match, nth, after=True)
            crashing._method = method
            with pytest.raises(Crash):
                await run_async(
                    doc,
                    inputs=INPUTS,
                    servers=_servers(srv.base_url),
                    clock=ManualClock(),
                    recorder=store,
                    transport=crashing,
                    run_id="01RESUMETESTRUN0000000000A",
                )
            result = await resume_async(
                "01RESUMETESTRUN0000000000A",
                store=store,
                transport=inner,
                clock=ManualClock(),
                **resume_kw,
            )
        counts = dict(srv.requests)
    raw = store_contents(tmp_path / "runs.db")
    store.close()
    return result, counts, raw


async def test_unsafe_post_with_unknown_outcome_stops(tmp_path: Path) -> None:
    result, counts, raw = await _crash_then_resume(
        tmp_path, "POST", "/workflows", 1, inputs={"apiKey": TOKEN}
    )
    assert result.status == "outcome_unknown"
    assert result.error is not None and result.error.step == "submitGeneration"
    assert result.message is not None and "--resend" in result.message
    # the fix line names the real run, never a placeholder
    assert f"run `weft resume {result.run_id} --resend`" in result.message
    assert "RUN_ID" not in result.message
    assert counts["submitWorkflow"] == 1
    assert TOKEN.encode() not in raw


async def test_resend_accepts_the_risk_and_finishes(tmp_path: Path) -> None:
    result, counts, _ = await _crash_then_resume(
        tmp_path, "POST", "/workflows", 1, inputs={"apiKey": TOKEN}, resend=True
    )
    assert result.status == "succeeded", result.error
    assert counts["submitWorkflow"] == 2
    assert result.outputs["cost"] == 12


async def test_idempotent_get_is_resent_and_run_continues(tmp_path: Path) -> None:
    result, counts, _ = await _crash_then_resume(
        tmp_path, "GET", "/consumer/workflows/", 2, inputs={"apiKey": TOKEN}
    )
    assert result.status == "succeeded", result.error
    assert counts["submitWorkflow"] == 1  # completed steps are not repeated
    assert counts.get("unauthorized", 0) == 0  # the secret was refilled from re-supplied inputs
    assert set(result.outputs) == {"air", "workflowId", "outputBlobUrl", "cost"}
    assert orjson.dumps(result.to_dict()).count(TOKEN.encode()) == 0


async def test_missing_secret_on_resume_names_the_input(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("WEFT_INPUT_APIKEY", raising=False)
    with pytest.raises(UsageError, match="apiKey"):
        await _crash_then_resume(tmp_path, "GET", "/consumer/workflows/", 2)


async def test_a_missing_secret_names_the_real_run_to_resume(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        await _crash_then_resume(tmp_path, "GET", "/workflows/", 1, inputs={})
    assert info.value.hint is not None
    assert "weft resume 01RESUMETESTRUN0000000000A -i apiKey=" in info.value.hint
    assert "RUN_ID" not in info.value.render()
