"""``weft run`` / ``weft auth list`` as a user runs them (a subprocess against a loopback API):
every kind of credential planted, then searched for in the run store file (database and WAL),
the ``--json`` output, stderr and the run's events, raw, base64 and URL-encoded: no hit. A
missing credential is exit 2 before any request; ``--insecure`` warns."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson

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
    forms,
    write_flow,
)
from weft.api import run_async
from weft.engine.credentials import AuthConfig
from weft.testing.store_contents import store_contents


async def weft(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WEFT_AUTH_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "weft",
        *args,
        cwd=cwd,
        env={**clean, "WEFT_STORE": str(cwd / "default.db"), **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    assert "Traceback" not in err.decode(), err.decode()
    return proc.returncode, out.decode(), err.decode()


def _secrets(state: AuthState) -> list[str]:
    user_password = BASIC
    found = [API_KEY, COOKIE_KEY, BEARER, BASIC, CLIENT, OIDC_CLIENT, *state.issued]
    found += [user_password.partition(":")[2], CLIENT.partition(":")[2]]
    found += [OIDC_CLIENT.partition(":")[2]]
    return found


def _hits(haystack: bytes, secrets: list[str]) -> list[str]:
    return [form for s in secrets for form in forms(s) if form.encode() in haystack]


async def test_no_credential_reaches_any_sink(tmp_path: Path) -> None:
    state = AuthState(flaky=1)
    flow = write_flow(tmp_path)
    (tmp_path / "creds.yaml").write_text(
        f"cookieKey: {COOKIE_KEY}\napi:\n  basic: {{username: alice, password: '{BASIC[6:]}'}}\n"
    )
    store = tmp_path / "runs.db"
    env = {"WEFT_AUTH_API_CC": CLIENT, "WEFT_AUTH_API_OIDC": OIDC_CLIENT}
    async with serve(auth_app(state)) as base:
        common = ["--server", f"api={base}", "--store", str(store), "--json"]
        auth = ["--auth", f"headerKey={API_KEY}", "--auth", f"api.queryKey={API_KEY}",
                "--auth", f"bearer={BEARER}", "--auth-file", "creds.yaml"]  # fmt: skip
        code, out, err = await weft("run", str(flow), "-w", "all", *common, *auth,
                                    cwd=tmp_path, env=env)  # fmt: skip
        assert code == 0, err
        result = orjson.loads(out)
        assert result["outputs"] == {"headerKey": "***", "queryKey": "***", "bearer": "***"}
        # a failed run whose server echoed the bearer token in its error answer
        code2, out2, err2 = await weft("run", str(flow), "-w", "flaky", "--retries", "1",
                                       *common, *auth, cwd=tmp_path, env=env)  # fmt: skip
        assert code2 == 1 and "503" in err2
        assert "busy, try again (" in orjson.loads(out2)["error"]["reason"]
        # the same runs in-process: every event
        events: list[Any] = []
        config = AuthConfig.build(
            {"headerKey": API_KEY, "api.queryKey": API_KEY, "bearer": BEARER,
             "cookieKey": COOKIE_KEY, "basic": BASIC, "cc": CLIENT, "oidc": OIDC_CLIENT},
            environ={},
        )  # fmt: skip
        state.flaky = 1
        for workflow in ("all", "flaky"):
            await run_async(flow, workflow, {}, servers={"api": base}, auth=config,
                            on_event=events.append, retry=1)  # fmt: skip
    assert state.token_requests >= 1 and state.oidc_token_requests >= 1
    assert len([p for p, _ in state.seen if p == "/oauth"]) == 2
    stored = store_contents(tmp_path / "runs.db")
    assert b"keyHeader" in stored  # the runs are there...
    secrets = _secrets(state)
    assert _hits(stored, secrets) == []  # ...their credentials are not
    assert _hits((out + err + out2 + err2).encode(), secrets) == []
    shown = repr(events).encode() + orjson.dumps(
        [e.result.to_dict() for e in events if e.result is not None]
    )
    assert b"busy, try again (" in shown and b"***" in shown
    assert _hits(shown, secrets) == []


async def test_missing_credential_exits_2_before_any_request(tmp_path: Path) -> None:
    state = AuthState()
    flow = write_flow(tmp_path)
    async with serve(auth_app(state)) as base:
        code, out, err = await weft(
            "run", str(flow), "-w", "oauthTwice", "--server", f"api={base}", cwd=tmp_path
        )
        assert code == 2 and out == ""
        assert "no credential for the security scheme 'cc' of source 'api'" in err
        assert "needed by oauth" in err
        assert "--auth api.cc=client_id:client_secret or WEFT_AUTH_API_CC" in err
        code, _, err = await weft(
            "run", str(flow), "-w", "one", "--server", f"api={base}",
            "--auth", "bearr=typo", cwd=tmp_path,
        )  # fmt: skip
        assert code == 2 and "--auth bearr: no source description declares" in err
        assert "api.bearer" in err  # the schemes it could have meant
        code, _, err = await weft(
            "run", str(flow), "-w", "one", "--server", f"api={base}",
            "--auth", "bearer", cwd=tmp_path,
        )  # fmt: skip
        assert code == 2 and "not SCHEME=VALUE" in err
    assert state.seen == [] and state.token_requests == 0


async def test_auth_list_names_every_variable_and_no_value(tmp_path: Path) -> None:
    flow = write_flow(tmp_path)
    code, out, _ = await weft("auth", "list", str(flow), cwd=tmp_path,
                              env={"WEFT_AUTH_API_BEARER": BEARER})  # fmt: skip
    assert code == 0
    assert "source api" in out
    assert "bearer: http bearer" in out and "env WEFT_AUTH_API_BEARER (set)" in out
    assert "env WEFT_AUTH_API_QUERYKEY (not set)" in out
    assert "--auth api.cc=client_id:client_secret" in out
    assert "apiKey in cookie session" in out
    assert "x-weft-auth of workflow bound" in out
    assert BEARER not in out
    code, out, _ = await weft("auth", "list", str(flow), "--json", cwd=tmp_path)
    rows = {r["scheme"]: r for r in orjson.loads(out)["schemes"]}
    assert rows["oidc"]["type"] == "openIdConnect"
    assert rows["oauth" if "oauth" in rows else "cc"]["operations"] == ["oauth", "either"]
    assert rows["bearer"]["env"] == "WEFT_AUTH_API_BEARER" and rows["bearer"]["envSet"] is False


async def test_insecure_warns_on_stderr(tmp_path: Path) -> None:
    state = AuthState()
    flow = write_flow(tmp_path)
    async with serve(auth_app(state)) as base:
        code, _, err = await weft(
            "run", str(flow), "-w", "optional", "--server", f"api={base}", "--insecure",
            "--no-store", cwd=tmp_path,
        )  # fmt: skip
    assert code == 0
    warnings = [line for line in err.splitlines() if "--insecure" in line]
    assert len(warnings) == 1 and "NOT verified" in warnings[0]
