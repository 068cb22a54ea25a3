"""What a newcomer meets on `weft run` / `weft resume`: the exact lines for a wrong --server
name, an invalid document, a run that stops on a fault that may pass, and one that succeeded."""

from __future__ import annotations

from pathlib import Path

import pytest

from weft.cli import main

BUNDLE = Path(__file__).resolve().parents[2] / "src" / "weft" / "civitai" / "generate.arazzo.yaml"


def weft(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``weft ARGV`` as the console entry point runs it: (exit code, stdout, stderr)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_a_wrong_server_name_lists_the_sources(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = weft(
        capsys, "run", str(BUNDLE), "--server", "orchestra=http://127.0.0.1:9", "--no-store"
    )
    assert code == 2
    assert err.splitlines() == [
        "error: --server 'orchestra': the document has no source description named 'orchestra'",
        "  why: its sources are: site, orchestration",
        "  fix: `weft describe DOC` lists each source and the server URL it would use",
    ]


def test_an_invalid_document_is_refused_as_validate_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "bad.arazzo.yaml"
    doc.write_text(
        "arazzo: 1.0.1\ninfo: {title: t, version: '1'}\n"
        "sourceDescriptions: [{name: api, url: ./api.yaml, type: openapi}]\n"
        "workflows:\n  - workflowId: w\n    steps:\n      - stepId: a\n        operationId: nope\n"
    )
    (tmp_path / "api.yaml").write_text(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n"
    )
    code, out, err = weft(capsys, "run", str(doc), "--no-store")
    assert code == 2, out + err
    lines = err.splitlines()
    assert lines[0] == f"error: {doc}: the document has 1 error and cannot be run:"
    assert lines[1].startswith(f"{doc}:8:22: error ")
    assert lines[-1] == (
        f"  fix: fix them (`weft validate {doc}` shows them, `weft lint` suggests fixes)"
    )
    assert "Traceback" not in out + err


def test_a_run_stopped_by_a_passing_fault_says_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "flow.arazzo.yaml"
    doc.write_text(
        "arazzo: 1.0.1\ninfo: {title: t, version: '1'}\n"
        "sourceDescriptions: [{name: api, url: ./api.yaml, type: openapi}]\n"
        "workflows:\n  - workflowId: w\n    steps:\n      - stepId: a\n"
        "        operationId: get\n"
    )
    (tmp_path / "api.yaml").write_text(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\n"
        "paths:\n  /x:\n    get: {operationId: get}\n"
    )
    store = tmp_path / "runs.db"
    # nothing listens on port 9: no answer, a fault that may pass
    nowhere = ["--server", "api=http://127.0.0.1:9", "--retries", "1"]
    code, _, err = weft(capsys, "run", str(doc), *nowhere, "--store", str(store))
    assert code == 1
    last = err.strip().splitlines()[-1]
    hint = "the run stopped on a failure that may pass; resume it with: weft resume "
    assert last.startswith(hint)
    run_id = last.rsplit(" ", 1)[1]
    code, _, err = weft(capsys, "resume", run_id, "--store", str(store))
    assert code == 1  # still nothing listening: the same failure, resumable again
    assert f"weft resume {run_id}" in err
    code, _, err = weft(capsys, "run", str(doc), *nowhere, "--no-store")
    assert code == 1 and "weft resume" not in err  # not recorded: nothing to resume


def test_a_json_value_for_an_input_without_a_type_is_read_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "flow.arazzo.yaml"
    doc.write_text(
        "arazzo: 1.0.1\ninfo: {title: t, version: '1'}\n"
        "sourceDescriptions: [{name: api, url: ./api.yaml, type: openapi}]\n"
        "workflows:\n  - workflowId: w\n"
        "    inputs:\n      type: object\n      properties:\n"
        "        customer: {oneOf: [{type: object, required: [a]}, {type: array}]}\n"
        "    steps:\n      - stepId: a\n        operationId: get\n"
    )
    (tmp_path / "api.yaml").write_text(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\n"
        "paths:\n  /x:\n    get: {operationId: get}\n"
    )
    nowhere = ["--server", "api=http://127.0.0.1:9", "--retries", "1", "--no-store", "--json"]
    code, _, err = weft(capsys, "run", str(doc), "-i", 'customer={"a": 1}', *nowhere)
    assert code == 1, err  # the inputs were valid: the run went as far as the (absent) server
    assert "do not match the workflow's inputs schema" not in err
    code, _, err = weft(capsys, "run", str(doc), "-i", "customer=plain", *nowhere)
    assert code == 2 and "do not match the workflow's inputs schema" in err
