"""`weft runs list/show/prune` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from weft.cli import cli
from weft.errors import UsageError
from weft.store import open_store
from weft.store.commands import parse_duration

from .conftest import sql, start_run, step


@pytest.fixture
def populated(store_path: Path) -> dict[str, str]:
    with open_store(store_path) as s:
        done = start_run(s, workflow_id="generate", labels={"batch": "b1", "row": "0"})
        step(s, done, "submit", 1, 0, status=201)
        result = {
            "runId": done,
            "workflowId": "generate",
            "status": "succeeded",
            "outputs": {"url": "http://127.0.0.1/img.png"},
            "steps": [{"stepId": "submit", "attempts": [{"statusCode": 201}]}],
            "error": None,
        }
        s.run_finished(
            done, status="succeeded", outputs=result["outputs"], error=None, result=result
        )
        running = start_run(s, workflow_id="poll")
        step(s, running, "poll", 1, 0)
        step(s, running, "poll", 2, 1, status=503)
        s.request_sending(
            running,
            step_key="poll",
            attempt=3,
            summary={"method": "GET", "url": "http://127.0.0.1/status"},
            resend_safe=True,
            state={},
        )
    return {"done": done, "running": running}


def _run(store_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["runs", *args, "--store", str(store_path)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_list_plain_and_filters(store_path: Path, populated: dict[str, str]) -> None:
    code, out = _run(store_path, "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [populated["running"], populated["done"]]
    assert "batch=b1,row=0" in lines[1]
    code, out = _run(store_path, "list", "--status", "succeeded")
    assert out.split("\t")[0] == populated["done"] and out.count("\n") == 1
    code, out = _run(store_path, "list", "--workflow", "poll")
    assert out.split("\t")[:3] == [populated["running"], "poll", "running"]
    code, out = _run(store_path, "list", "--label", "batch=b1")
    assert out.split("\t")[0] == populated["done"]


def test_list_json(store_path: Path, populated: dict[str, str]) -> None:
    code, out = _run(store_path, "list", "--json")
    assert code == 0
    data = json.loads(out)
    assert [d["runId"] for d in data] == [populated["running"], populated["done"]]
    assert data[1]["status"] == "succeeded" and data[1]["labels"] == {"batch": "b1", "row": "0"}


def test_show_json_of_a_finished_run_is_its_result(
    store_path: Path, populated: dict[str, str]
) -> None:
    code, out = _run(store_path, "show", populated["done"], "--json")
    assert code == 0
    data = json.loads(out)
    assert data["runId"] == populated["done"]
    assert data["status"] == "succeeded"
    assert data["outputs"] == {"url": "http://127.0.0.1/img.png"}
    assert data["steps"] == [{"stepId": "submit", "attempts": [{"statusCode": 201}]}]


def test_show_json_of_a_running_run_is_built_from_records(
    store_path: Path, populated: dict[str, str]
) -> None:
    code, out = _run(store_path, "show", populated["running"], "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"runId", "workflowId", "status", "outputs", "steps", "error"}
    assert data["status"] == "running"
    assert data["steps"][0]["stepId"] == "poll"
    assert data["steps"][0]["statusCodes"] == [200, 503]
    assert data["pending"]["attempt"] == 3


def test_show_text(store_path: Path, populated: dict[str, str]) -> None:
    code, out = _run(store_path, "show", populated["running"])
    assert code == 0
    assert populated["running"] in out
    assert "step poll: 2 attempt(s) 200 503" in out
    assert "pending   step poll attempt 3: GET http://127.0.0.1/status (safe to resend)" in out


def test_show_unknown_run_is_a_usage_error(store_path: Path, populated: dict[str, str]) -> None:
    with pytest.raises(UsageError) as info:
        _run(store_path, "show", "NOPE")
    assert "weft runs list" in (info.value.hint or "")


def test_prune(store_path: Path, populated: dict[str, str]) -> None:
    code, out = _run(store_path, "prune", "--older-than", "7d")
    assert code == 0 and out.strip() == "pruned 0 runs"
    with open_store(store_path) as s:
        s._connection().execute("UPDATE runs SET updated_at = updated_at - 8 * 86400")
    code, out = _run(store_path, "prune", "--older-than", "7d")
    assert out.strip() == "pruned 1 run"  # the running one stays
    code, out = _run(store_path, "list", "--json")
    assert [d["runId"] for d in json.loads(out)] == [populated["running"]]


def test_store_errors_reach_the_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"garbage" * 1000)
    from weft.errors import StoreError

    with pytest.raises(StoreError):
        _run(bad, "list")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600), ("45s", 45), ("90", 90)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7 days", "d7", "-3d", "1y"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)
