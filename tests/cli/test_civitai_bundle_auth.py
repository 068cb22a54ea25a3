"""The Civitai bundle takes its token as an input and binds it to both APIs' bearer scheme with
``x-weft-auth``: every request to the simulator carries ``Authorization: Bearer <token>``, and a
wrong token is the API's 401, not a missing credential."""

from __future__ import annotations

from pathlib import Path

from weft.api import run_async
from weft.civitai.simulator.config import SimulatorConfig
from weft.civitai.simulator.server import run_simulator
from weft.effects import HttpRequest, HttpResponse
from weft.effects.aiohttp_transport import AiohttpTransport
from weft.engine.credentials import AuthConfig

BUNDLE = Path(__file__).resolve().parents[2] / "src/weft/civitai/generate.arazzo.yaml"


class Recording:
    def __init__(self, inner: AiohttpTransport) -> None:
        self.inner = inner
        self.sent: list[HttpRequest] = []

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        return await self.inner.send(request)


async def test_the_bundle_sends_the_token_input_as_bearer() -> None:
    async with run_simulator(SimulatorConfig()) as sim, AiohttpTransport() as inner:
        transport = Recording(inner)
        servers = {"site": sim.base_url, "orchestration": sim.base_url}
        inputs = {"token": sim.token, "modelVersionId": 128713, "prompt": "a fox",
                  "externalId": "weft-auth-test", "waitSeconds": 1}  # fmt: skip
        result = await run_async(
            BUNDLE, "generate-from-model-version", inputs, servers=servers,
            transport=transport, auth=AuthConfig.build(environ={}),
        )  # fmt: skip
        assert result.status == "succeeded", result.error
        assert len(transport.sent) >= 3  # the version, the submit, the polls
        for request in transport.sent:
            assert ("Authorization", f"Bearer {sim.token}") in request.headers
        assert sim.token not in str(result.to_dict())
        wrong = await run_async(
            BUNDLE, "generate-from-model-version", {**inputs, "token": "not-the-token"},
            servers=servers, transport=transport, auth=AuthConfig.build(environ={}),
        )  # fmt: skip
    assert wrong.status == "failed" and wrong.error.root().status_code == 401
