"""Authentication from the descriptions' security schemes, end to end against a loopback API:
each scheme type, where credentials come from, OAuth2 tokens (fetched once, refreshed once on a
401), OpenID Connect discovery, alternatives, a step's own parameter winning, x-weft-auth, and
a missing credential refused before anything is sent."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.effects.support import serve
from tests.engine.auth_server import (
    API_KEY,
    BASIC,
    BEARER,
    CLIENT,
    COOKIE_KEY,
    OIDC_CLIENT,
    AuthState,
    auth_app,
    write_flow,
)
from weft.api import resume_async, run_async
from weft.engine.auth_check import MissingCredentialError
from weft.engine.credentials import AuthConfig, env_name
from weft.engine.options import RunOptions
from weft.errors import UsageError
from weft.store import open_store
from weft.testing.store_contents import store_contents

EVERY = {
    "headerKey": API_KEY,
    "api.queryKey": API_KEY,
    "cookieKey": COOKIE_KEY,
    "bearer": BEARER,
    "basic": BASIC,
    "cc": CLIENT,
    "oidc": OIDC_CLIENT,
}


async def _run(tmp: Path, base: str, workflow: str, auth: Any = None, **kw: Any) -> Any:
    return await run_async(
        write_flow(tmp), workflow, kw.pop("inputs", {}), servers={"api": base}, auth=auth, **kw
    )


async def test_each_scheme_type_sends_its_credential(tmp_path: Path) -> None:
    state = AuthState()
    async with serve(auth_app(state)) as base:
        result = await _run(tmp_path, base, "all", auth=EVERY)
    assert result.status == "succeeded", result.error
    sent = dict(state.seen)
    assert sent["/bearer"] == f"Bearer {BEARER}"
    assert sent["/basic"] == "Basic " + base64.b64encode(BASIC.encode()).decode()
    assert sent["/oauth"] == f"Bearer {state.issued[0]}"
    assert sent["/oidc"] == f"Bearer {state.issued[1]}"
    assert sent["/open"] == f"Bearer {BEARER}"  # optional: sent when there is one
    assert state.scopes == ["read write"]  # the requirement's scopes
    assert (state.token_requests, state.oidc_token_requests, state.discovery_requests) == (1, 1, 1)
    # the server echoed every credential back: outputs hold none of them
    assert result.outputs == {"headerKey": "***", "queryKey": "***", "bearer": "***"}
    assert all(s.outputs == {"echo": "***"} for s in result.steps)


async def test_environment_variables_and_the_auth_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env_name("api", "bearer"), BEARER)
    assert env_name("api", "bearer") == "WEFT_AUTH_API_BEARER"
    assert env_name("pet-store", "api.key") == "WEFT_AUTH_PET_STORE_API_KEY"
    state = AuthState()
    async with serve(auth_app(state)) as base:
        result = await _run(tmp_path, base, "one")  # the environment is read by default
        assert result.status == "succeeded", result.error
        # --auth beats the file, which beats the environment
        config = AuthConfig.build(
            {"api.bearer": "given"},
            file_values={
                "api": {"bearer": "from-file"},
                "basic": {"username": "u", "password": "p"},
            },
        )
        assert config.lookup("api", "bearer") == ("given", "--auth api.bearer")
        assert config.lookup("api", "basic") == ("u:p", "--auth-file basic")
        assert config.lookup("other", "bearer") is None
        file_only = AuthConfig.build(file_values={"api.bearer": BEARER}, environ={})
        result = await _run(tmp_path, base, "one", auth=file_only)
    assert result.status == "succeeded", result.error
    assert [a for _, a in state.seen] == [f"Bearer {BEARER}"] * 2


async def test_oauth2_token_is_fetched_once_and_refreshed_once_on_401(tmp_path: Path) -> None:
    state = AuthState()
    config = AuthConfig.build({"cc": CLIENT}, environ={})
    async with serve(auth_app(state)) as base:
        result = await _run(tmp_path, base, "oauthTwice", auth=config)
        assert result.status == "succeeded", result.error
        assert state.token_requests == 1  # two steps, one token
        # a second run with the same configuration (a batch) reuses the token
        result = await _run(tmp_path, base, "oauthTwice", auth=config)
        assert result.status == "succeeded" and state.token_requests == 1
        # the server revokes it: the 401 fetches a new token and sends the request again
        state.revoked.add(state.issued[0])
        result = await _run(tmp_path, base, "oauthTwice", auth=config)
        assert result.status == "succeeded", result.error
        assert state.token_requests == 2
        assert [a for _, a in state.seen[-3:]] == [
            f"Bearer {state.issued[0]}",
            f"Bearer {state.issued[1]}",
            f"Bearer {state.issued[1]}",
        ]
        # a server that refuses every token: one refresh, then the 401 is the answer
        state.always_401 = True
        before, requests = state.token_requests, len(state.seen)
        result = await _run(tmp_path, base, "oauthTwice", auth=config)
        assert result.status == "failed" and result.error.status_code == 401
        assert state.token_requests == before + 1 and len(state.seen) == requests + 2


async def test_oauth2_tokens_expire(tmp_path: Path) -> None:
    state = AuthState(expires_in=0)  # expired as soon as it is issued
    async with serve(auth_app(state)) as base:
        result = await _run(tmp_path, base, "oauthTwice", auth={"cc": CLIENT})
    assert result.status == "succeeded", result.error
    assert state.token_requests == 2
    assert len(set(state.issued)) == 2


async def test_a_refused_client_is_an_auth_failure(tmp_path: Path) -> None:
    state = AuthState()
    async with serve(auth_app(state)) as base:
        result = await _run(tmp_path, base, "oauthTwice", auth={"cc": "client-1:wrong-secret"})
    assert result.status == "failed"
    error = result.error
    assert error.kind == "auth" and error.scheme == "api.cc" and error.step_id == "oauth"
    assert "answered 401 (invalid_client)" in error.reason
    assert "wrong-secret" not in str(result.to_dict())
    assert state.seen == []  # the API itself got nothing


async def test_openid_connect_discovery_is_read_once(tmp_path: Path) -> None:
    state = AuthState()
    config = AuthConfig.build({"oidc": OIDC_CLIENT}, environ={})
    async with serve(auth_app(state)) as base:
        for _ in range(2):
            result = await _run(tmp_path, base, "oidcTwice", auth=config)
            assert result.status == "succeeded", result.error
    assert (state.discovery_requests, state.oidc_token_requests) == (1, 1)


async def test_alternatives_take_the_first_one_whose_credentials_are_all_there(
    tmp_path: Path,
) -> None:
    state = AuthState()
    async with serve(auth_app(state)) as base:
        # cc+headerKey is first but headerKey is missing: basic
        result = await _run(tmp_path, base, "either", auth={"cc": CLIENT, "basic": BASIC})
        assert result.status == "succeeded", result.error
        assert state.seen[-1][1].startswith("Basic ") and state.token_requests == 0
        result = await _run(tmp_path, base, "either", auth={**EVERY})
        assert result.status == "succeeded", result.error
        assert state.seen[-1][1] == f"Bearer {state.issued[0]}"
        # security [{}, {bearer}] without a bearer: sent without credentials, no error
        result = await _run(tmp_path, base, "optional", auth=AuthConfig.build(environ={}))
        assert result.status == "succeeded", result.error
        assert state.seen[-1] == ("/open", None)


async def test_a_parameter_the_step_sets_wins(tmp_path: Path) -> None:
    state = AuthState()
    async with serve(auth_app(state)) as base:
        result = await _run(tmp_path, base, "ownHeader", auth=EVERY)
    # the server refuses the step's own values (they are not the real ones): what was sent
    assert state.seen == [("/bearer", "Bearer step-own-token")]
    assert result.error.status_code == 401


async def test_x_weft_auth_binds_a_scheme_to_an_input(tmp_path: Path) -> None:
    state = AuthState()
    store_path = tmp_path / "runs.db"
    async with serve(auth_app(state)) as base:
        with open_store(store_path) as store:
            result = await _run(
                tmp_path,
                base,
                "bound",
                auth=AuthConfig.build(environ={}),
                inputs={"token": BEARER},
                recorder=store,
            )
    assert result.status == "succeeded", result.error
    assert state.seen == [("/bearer", f"Bearer {BEARER}")]
    stored = store_contents(tmp_path / "runs.db")
    assert BEARER.encode() not in stored
    # without the input, the run is refused before anything is sent
    with pytest.raises(MissingCredentialError):
        await _run(tmp_path, base, "bound", auth=AuthConfig.build(environ={}))


async def test_a_missing_credential_is_one_error_before_any_request(tmp_path: Path) -> None:
    state = AuthState()
    async with serve(auth_app(state)) as base:
        with pytest.raises(MissingCredentialError) as caught:
            await _run(tmp_path, base, "all", auth=AuthConfig.build({"bearer": BEARER}, environ={}))
        with pytest.raises(UsageError, match="no source description declares a security scheme"):
            await _run(tmp_path, base, "one", auth=AuthConfig.build({"nope": "x"}, environ={}))
    assert state.seen == [] and state.token_requests == 0
    error = caught.value
    assert error.exit_code == 2
    assert set(error.missing) == {
        "api.headerKey",
        "api.queryKey",
        "api.cookieKey",
        "api.basic",
        "api.cc",
        "api.oidc",
    }
    text = str(error)
    assert "api.cc (oauth2 clientCredentials) needed by oauth" in text
    assert "--auth api.basic=user:password or WEFT_AUTH_API_BASIC" in text
    assert BEARER not in text


async def test_credentials_are_not_recorded_and_resume_takes_them_again(tmp_path: Path) -> None:
    state = AuthState(flaky=1)
    store_path = tmp_path / "runs.db"
    config = AuthConfig.build({"bearer": BEARER}, environ={})
    assert "auth" not in RunOptions.build(auth=config).to_snapshot()
    async with serve(auth_app(state)) as base:
        with open_store(store_path) as store:
            result = await _run(tmp_path, base, "flaky", auth=config, recorder=store, retry=1)
            assert result.status == "failed" and result.error.status_code == 503
            with pytest.raises(MissingCredentialError):
                await resume_async(result.run_id, store=store, auth=AuthConfig.build(environ={}))
            resumed = await resume_async(result.run_id, store=store, auth=config)
    assert resumed.status == "succeeded", resumed.error
    assert state.flaky == 0 and state.seen == [("/flaky", f"Bearer {BEARER}")]
    stored = store_contents(tmp_path / "runs.db")
    assert BEARER.encode() not in stored
