"""`weft runs list/show/prune` through the real CLI entry point."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from weft.cli import cli, main
from weft.errors import UsageError
from weft.store import open_store
from weft.store.commands import STORE_HELP, parse_duration

from .conftest import sql, start_run, step


@pytest.fixture
def populated(store_url: str) -> dict[str, str]:
    with open_store(store_url) as s:
        done = start_run(s, workflow_id="generate", labels={"batch": "b1", "row": "0"})
        step(s, done, "submit", 1, 0, status=201)
        result = {
            "runId": done,
            "workflowId": "generate",
            "status": "succeeded",
            "outputs": {"url": "http://127.0.0.1/img.png", "cost": 3},
            "steps": [{"stepId": "submit", "attempts": [{"statusCode": 201}]}],
            "error": None,
            "duration": 0.5,
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


def _run(store_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["runs", *args, "--store", store_url])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _started(store_url: str, run_id: str) -> str:
    with open_store(store_url) as s:
        run = s.require_run(run_id)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.created_at))


def test_list_prints_a_header_and_one_aligned_row_per_run(
    store_url: str, populated: dict[str, str]
) -> None:
    running, done = populated["running"], populated["done"]
    code, out = _run(store_url, "list")
    assert code == 0
    assert out == (
        "RUN ID                      WORKFLOW  STATUS     STARTED              DURATION  COST"
        "  LABELS\n"
        f"{running}  poll      running    {_started(store_url, running)}  -         -\n"
        f"{done}  generate  succeeded  {_started(store_url, done)}  0.50s     3"
        "     batch=b1,row=0\n"
    )


def test_list_filters(store_url: str, populated: dict[str, str]) -> None:
    running, done = populated["running"], populated["done"]
    for args, expected in [
        (("--status", "succeeded"), [done]),
        (("--status", "succeeded", "--status", "running"), [running, done]),
        (("--workflow", "poll"), [running]),
        (("--label", "batch=b1"), [done]),
    ]:
        code, out = _run(store_url, "list", *args)
        lines = out.splitlines()
        assert code == 0 and lines[0].startswith("RUN ID  ")
        assert [line.split()[0] for line in lines[1:]] == expected, args


def test_list_says_when_the_limit_hid_older_runs(store_url: str, populated: dict[str, str]) -> None:
    with open_store(store_url) as s:
        newest = start_run(s, workflow_id="poll")
    code, out = _run(store_url, "list", "--limit", "2")
    lines = out.splitlines()
    assert code == 0
    assert [line.split()[0] for line in lines[1:3]] == [newest, populated["running"]]
    assert lines[3:] == ["showing 2 of 3; --limit to see more"]
    code, out = _run(store_url, "list", "--limit", "3")
    assert len(out.splitlines()) == 4  # nothing hidden: no footer
    code, out = _run(store_url, "list", "--limit", "1", "--status", "running")
    assert out.splitlines()[2:] == ["showing 1 of 2; --limit to see more"]


def test_list_of_an_empty_store(store_url: str) -> None:
    with open_store(store_url) as s:
        location = s.location
    assert _run(store_url, "list") == (0, f"no runs recorded in {location}\n")
    assert _run(store_url, "list", "--status", "failed") == (0, f"no runs match in {location}\n")


def test_an_unknown_status_is_an_error_listing_the_valid_ones(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["list"], ["prune", "--older-than", "1d"]):
        with pytest.raises(SystemExit) as info:
            main(["runs", *command, "--status", "bogus", "--store", store_url])
        assert info.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == (
            "error: --status: unknown run status 'bogus'\n"
            "  why: a run's status is one of running, succeeded, failed, outcome_unknown,"
            " cancelled, canceled\n"
            "  fix: e.g. --status failed (repeat --status for several)\n"
        )


def test_the_store_option_reads_the_same_everywhere() -> None:
    for command in ("list", "show", "prune"):
        out = CliRunner().invoke(cli, ["runs", command, "--help"]).output
        assert "--store PATH|URL" in out
        assert " ".join(out.split()).count(" ".join(STORE_HELP.split())) == 1, command


def test_list_json_and_pages(store_url: str, populated: dict[str, str]) -> None:
    code, out = _run(store_url, "list", "--json")
    assert code == 0
    data = json.loads(out)
    assert [d["runId"] for d in data] == [populated["running"], populated["done"]]
    assert data[1]["status"] == "succeeded" and data[1]["labels"] == {"batch": "b1", "row": "0"}
    assert data[1]["cost"] == 3 and data[1]["duration"] == 0.5
    assert data[0]["cost"] is None and data[0]["duration"] is None
    code, out = _run(store_url, "list", "--json", "--limit", "1")
    (first,) = json.loads(out)
    code, out = _run(store_url, "list", "--json", "--before", first["cursor"])
    assert [d["runId"] for d in json.loads(out)] == [populated["done"]]


def test_show_json_of_a_finished_run_is_its_result(
    store_url: str, populated: dict[str, str]
) -> None:
    code, out = _run(store_url, "show", populated["done"], "--json")
    assert code == 0
    data = json.loads(out)
    assert data["runId"] == populated["done"]
    assert data["status"] == "succeeded"
    assert data["outputs"] == {"url": "http://127.0.0.1/img.png", "cost": 3}
    assert data["steps"] == [{"stepId": "submit", "attempts": [{"statusCode": 201}]}]


def test_show_json_of_a_running_run_is_built_from_records(
    store_url: str, populated: dict[str, str]
) -> None:
    code, out = _run(store_url, "show", populated["running"], "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"runId", "workflowId", "status", "outputs", "steps", "error"}
    assert data["status"] == "running"
    assert data["steps"][0]["stepId"] == "poll"
    assert data["steps"][0]["statusCodes"] == [200, 503]
    assert data["pending"]["attempt"] == 3


def test_show_text(store_url: str, populated: dict[str, str]) -> None:
    code, out = _run(store_url, "show", populated["running"])
    assert code == 0
    assert populated["running"] in out
    assert "step poll: 2 attempt(s) 200 503" in out
    assert "pending   step poll attempt 3: GET http://127.0.0.1/status (safe to resend)" in out


def test_show_unknown_run_is_a_usage_error(store_url: str, populated: dict[str, str]) -> None:
    with pytest.raises(UsageError) as info:
        _run(store_url, "show", "NOPE")
    assert "weft runs list" in (info.value.hint or "")


def test_prune(store_url: str, populated: dict[str, str]) -> None:
    code, out = _run(store_url, "prune", "--older-than", "7d")
    assert code == 0 and out.strip() == "pruned 0 runs"
    with open_store(store_url) as s:
        sql(s, "UPDATE runs SET updated_at = updated_at - 8 * 86400")
    code, out = _run(store_url, "prune", "--older-than", "7d")
    assert out.strip() == "pruned 1 run"  # the running one stays
    code, out = _run(store_url, "list", "--json")
    assert [d["runId"] for d in json.loads(out)] == [populated["running"]]


def test_store_errors_reach_the_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"garbage" * 1000)
    from weft.errors import StoreError

    with pytest.raises(StoreError):
        _run(str(bad), "list")


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
