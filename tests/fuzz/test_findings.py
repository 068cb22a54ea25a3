"""What the fuzz suite found, each as the user sees it now: the exact message and exit code.

Before the fixes: a document read from ``/dev/zero`` grew to tens of GB before the kernel
killed weft; a CSV cell over 128 KiB ended in an internal error (exit 70); a 30-digit number in
a JSONL rows file was silently read as an approximate float; inputs sharing a value through a
YAML alias were refused as recursive while aliases of aliases ("a billion laughs") were
accepted; a 30-digit ``--model-version`` reached the API; a ``-i`` value of bytes that are not
UTF-8, sent in a query, ended in an internal error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.document.helpers import PETS_OPENAPI, arazzo, write
from tests.fuzz.cli import Outcome, assert_clean, run_cli

DEV_ZERO = Path("/dev/zero")
pytestmark = pytest.mark.skipif(not DEV_ZERO.exists(), reason="needs /dev/zero")


def _document(folder: Path) -> Path:
    steps = [{"stepId": "get", "operationId": "getPet",
              "parameters": [{"name": "petId", "in": "path", "value": "$inputs.id"}]}]  # fmt: skip
    doc = arazzo(steps)
    doc["workflows"][0]["inputs"] = {"type": "object", "properties": {"id": {"type": "string"}}}
    return write(folder, doc, openapi=PETS_OPENAPI)


def _said(outcome: Outcome, folder: Path) -> str:
    assert_clean(outcome)
    return outcome.stderr.replace(str(folder) + os.sep, "")


@pytest.mark.parametrize("command", ["validate", "lint", "describe", "run"])
def test_a_document_that_never_ends_is_one_message(tmp_path: Path, command: str) -> None:
    zero = tmp_path / "endless.arazzo.yaml"
    zero.symlink_to(DEV_ZERO)
    store = ["--store", str(tmp_path / "s.db")] if command == "run" else []
    outcome = run_cli([command, str(zero), *store])
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == (
        "error: endless.arazzo.yaml: Arazzo document is too large\n"
        "  why: it holds more than the limit of 16777216 bytes\n"
        "  fix: pass the Arazzo document itself (a file, not a device or a stream)\n"
    )


def test_an_inputs_file_that_never_ends_is_one_message(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    outcome = run_cli(["run", str(doc), "--inputs", str(DEV_ZERO), "--no-store"])
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == (
        "error: inputs file /dev/zero is larger than 64 MiB\n"
        "  why: it may not be a file of values (a device, an endless stream)\n"
        "  fix: pass a JSON or YAML file of values as the inputs file\n"
    )


@pytest.mark.parametrize("name", ["rows.jsonl", "rows.csv"])
def test_a_rows_file_that_never_ends_is_one_message(tmp_path: Path, name: str) -> None:
    doc = _document(tmp_path)
    rows = tmp_path / name
    rows.symlink_to(DEV_ZERO)
    outcome = run_cli(["batch", str(doc), "--inputs", str(rows), "--store", str(tmp_path / "s")])
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == (
        f"error: {name}: line 1 of the batch inputs file is longer than 1 MiB\n"
        "  why: it may not be a file of rows (a device, an endless stream)\n"
        "  fix: pass a .jsonl file (one JSON object per line) or a .csv file\n"
    )


def test_a_csv_cell_over_the_field_limit_is_one_message(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    rows = tmp_path / "rows.csv"
    rows.write_text('id\n"' + "x" * 200_000 + '"\n')
    outcome = run_cli(["batch", str(doc), "--inputs", str(rows), "--store", str(tmp_path / "s")])
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == (
        "error: rows.csv:2: the batch CSV file cannot be read\n"
        "  why: field larger than field limit (131072)\n"
        "  fix: close every quoted cell; quote cells that hold commas, quotes or line breaks\n"
    )


def test_a_30_digit_number_in_a_rows_file_is_one_message(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": "a"}\n{"id": 123456789012345678901234567890}\n')
    outcome = run_cli(["batch", str(doc), "--inputs", str(rows), "--store", str(tmp_path / "s")])
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == (
        "error: rows.jsonl:2: a batch input line holds the number 12345678901234567890…, "
        "too large to keep\n"
        "  why: numbers are kept as 64-bit integers\n"
        "  fix: write it as a string if it is an identifier\n"
    )


@pytest.mark.parametrize("where", ["inputs", "rows"])
def test_json_nested_100k_deep_is_one_message(tmp_path: Path, where: str) -> None:
    doc = _document(tmp_path)
    deep = '{"id": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    if where == "inputs":
        (tmp_path / "in.json").write_text(deep)
        outcome = run_cli(["run", str(doc), "--inputs", str(tmp_path / "in.json"), "--no-store"])
        expected = (
            "error: inputs file in.json is not JSON or YAML\n"
            "  why: depth limit exceeded: line 1 column 1032 (char 1031)\n"
        )
    else:
        (tmp_path / "rows.jsonl").write_text(deep)
        outcome = run_cli(
            ["batch", str(doc), "--inputs", str(tmp_path / "rows.jsonl"), "--store",
             str(tmp_path / "s")]
        )  # fmt: skip
        expected = (
            "error: rows.jsonl:1: a batch input line is not valid JSON\n"
            "  why: depth limit exceeded: line 1 column 1032 (char 1031)\n"
            '  fix: write one JSON object per line, e.g. {"prompt": "a cat"}\n'
        )
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == expected


LAUGHS = "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else 'lol'}]\n" for i in range(9)
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "id: &x [1, *x]\n",
            "error: inputs file in.yaml: a value contains itself (a recursive YAML alias)\n"
            "  fix: write the value out instead of referring to an enclosing anchor\n",
        ),
        (
            LAUGHS,
            "error: inputs file in.yaml: the value expands to more than 10,000,000 values\n"
            "  why: YAML aliases repeat a value wherever they appear\n"
            "  fix: write the values out, or pass fewer\n",
        ),
    ],
)
def test_yaml_aliases_that_recurse_or_explode_are_one_message(
    tmp_path: Path, text: str, expected: str
) -> None:
    doc = _document(tmp_path)
    (tmp_path / "in.yaml").write_text(text)
    outcome = run_cli(["run", str(doc), "--inputs", str(tmp_path / "in.yaml"), "--no-store"])
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == expected


def test_a_value_shared_by_a_yaml_alias_is_not_recursive(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    (tmp_path / "in.yaml").write_text("shared: &s {a: 1}\nagain: *s\nid: pet-1\n")
    outcome = run_cli(
        ["run", str(doc), "--inputs", str(tmp_path / "in.yaml"), "--no-store", "--retries", "1"]
    )
    assert_clean(outcome)
    assert "contains itself" not in outcome.stderr
    assert "wf/get" in outcome.stderr  # the run started (and failed to connect: port 9)


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (
            ["--model-version", "123456789012345678901234567890"],
            "error: --model-version 123456789012345678901234567890 is not a Civitai model "
            "version id\n"
            "  why: model version ids are whole numbers from 1 to 2147483647\n"
            "  fix: the id is the number after ?modelVersionId= on the model's page\n",
        ),
        (
            ["--model-version", "1", "--checkpoint", "99999999999"],
            "error: --checkpoint 99999999999 is not a Civitai model version id\n"
            "  why: model version ids are whole numbers from 1 to 2147483647\n"
            "  fix: the id is the number after ?modelVersionId= on the model's page\n",
        ),
        (
            ["--model-version", "1", "--lora", "123456789012345678901234567890:0.5"],
            "error: --lora '123456789012345678901234567890:0.5': the id must be 1-2147483647 "
            "and the strength 0-4\n"
            "  fix: --lora 1012:0.8\n",
        ),
    ],
)
def test_civitai_ids_beyond_32_bits_are_refused_before_anything_is_sent(
    tmp_path: Path, option: list[str], expected: str
) -> None:
    outcome = run_cli(
        ["civitai", "generate", "--prompt", "a fox", *option, "--api-base", "http://127.0.0.1:9",
         "--token", "t", "--store", str(tmp_path / "s.db")]
    )  # fmt: skip
    assert outcome.code == 2  # port 9: nothing was sent
    assert _said(outcome, tmp_path) == expected


def test_a_30_digit_seed_is_one_message(tmp_path: Path, simulator: Any) -> None:
    from weft.civitai.simulator import Catalog

    version = Catalog().find(role="checkpoint", can_generate=True)[0].version_id
    submitted = len(simulator.state.submissions)
    outcome = run_cli(
        ["civitai", "generate", "--prompt", "a fox", "--model-version", str(version),
         "--seed", "123456789012345678901234567890", "--api-base", simulator.base_url,
         "--token", simulator.token, "--store", str(tmp_path / "s.db")]
    )  # fmt: skip
    assert outcome.code == 2  # checked against the version's family, before any submit
    assert _said(outcome, tmp_path) == (
        "error: --seed 123456789012345678901234567890 is outside 0-4294967295\n"
        "  fix: pass a seed between 0 and 4294967295, or none for a random one\n"
    )
    assert len(simulator.state.submissions) == submitted


def test_a_30_digit_model_version_in_a_civitai_rows_file_is_one_message(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"prompt": "x"})[:-1] + ', "modelVersionId": 1' + "0" * 29 + "}\n")
    outcome = run_cli(
        ["civitai", "generate", "--batch", str(rows), "--api-base", "http://127.0.0.1:9",
         "--token", "t", "--store", str(tmp_path / "s.db")]
    )  # fmt: skip
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == (
        "error: rows.jsonl:1: a batch input line holds the number 10000000000000000000…, "
        "too large to keep\n"
        "  why: numbers are kept as 64-bit integers\n"
        "  fix: write it as a string if it is an identifier\n"
    )


def test_a_source_description_that_never_ends_is_one_finding(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    (tmp_path / "pets.yaml").unlink()
    (tmp_path / "pets.yaml").symlink_to(DEV_ZERO)
    outcome = run_cli(["validate", str(doc)])
    assert outcome.code == 1
    assert "more than the limit of 67108864 bytes" in outcome.stdout + outcome.stderr


def test_a_command_line_value_that_is_not_utf8_is_one_message(tmp_path: Path) -> None:
    doc = _document(tmp_path)
    # what sys.argv holds for `-i id=$'\xff\xfe'`: the bytes as lone surrogates
    outcome = run_cli(["run", str(doc), "-i", "id=\udcff\udcfe", "--no-store"])
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == (
        "error: -i id: a value is not UTF-8 text ('\\udcff\\udcfe')\n"
        "  why: the bytes given cannot be sent in a request\n"
        "  fix: pass the value as UTF-8 text\n"
    )


@pytest.mark.parametrize("pace", ["inf", "nan", "1,inf"])
def test_a_pace_that_never_ends_is_one_message(tmp_path: Path, pace: str) -> None:
    doc = _document(tmp_path)
    outcome = run_cli(["run", str(doc), "-i", "id=1", "--pace", pace, "--no-store"])
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == (
        f"error: --pace: invalid pace {pace!r}\n  why: delays must be finite numbers >= 0\n"
    )


@pytest.mark.parametrize("wait", [".inf", ".nan"])
def test_a_retry_after_that_never_ends_is_a_document_error(tmp_path: Path, wait: str) -> None:
    steps = [{"stepId": "get", "operationId": "getPet",
              "parameters": [{"name": "petId", "in": "path", "value": "1"}],
              "onFailure": [{"name": "again", "type": "retry", "retryAfter": 0,
                             "retryLimit": 3}]}]  # fmt: skip
    path = write(tmp_path, arazzo(steps), openapi=PETS_OPENAPI)
    path.write_text(path.read_text().replace("retryAfter: 0", f"retryAfter: {wait}"))
    outcome = run_cli(["run", str(path), "--no-store"])
    assert outcome.code == 2
    assert "'retryAfter' must be a non-negative number of seconds" in outcome.stderr
    assert_clean(run_cli(["validate", str(path)]), frozenset({1}))


def test_an_endless_backoff_is_a_document_error(tmp_path: Path) -> None:
    backoff = {"factor": 1e300, "max": float("inf")}
    steps = [{"stepId": "get", "operationId": "getPet",
              "parameters": [{"name": "petId", "in": "path", "value": "1"}],
              "onFailure": [{"name": "again", "type": "retry", "retryAfter": 1, "retryLimit": 3,
                             "x-weft-backoff": backoff}]}]  # fmt: skip
    path = write(tmp_path, arazzo(steps), openapi=PETS_OPENAPI)
    outcome = run_cli(["run", str(path), "--no-store"])
    assert outcome.code == 2
    assert "x-weft-backoff {'factor': 1e+300, 'max': inf} is not a backoff" in outcome.stderr


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (
            "--max-steps",
            "error: max steps must be a whole number from 1 to 9223372036854775807, not "
            "123456789012345678901234567890\n  fix: --max-steps 1000\n",
        ),
        (
            "--retries",
            "error: retries must be a whole number of tries from 1 to 9223372036854775807, not "
            "123456789012345678901234567890\n  fix: --retries 5 (1 = never retry)\n",
        ),
    ],
)
def test_a_30_digit_count_is_one_message(tmp_path: Path, option: str, expected: str) -> None:
    doc = _document(tmp_path)
    big = "123456789012345678901234567890"
    outcome = run_cli(["run", str(doc), "-i", "id=1", option, big, "--store", str(tmp_path / "s")])
    assert outcome.code == 2  # it was a crash in the store codec (exit 70)
    assert _said(outcome, tmp_path) == expected


def _with_inputs(folder: Path, properties: dict[str, object]) -> Path:
    steps = [{"stepId": "get", "operationId": "getPet",
              "parameters": [{"name": "petId", "in": "path", "value": "1"}]}]  # fmt: skip
    doc = arazzo(steps)
    doc["workflows"][0]["inputs"] = {"type": "object", "properties": properties}
    return write(folder, doc, openapi=PETS_OPENAPI)


def test_an_inputs_schema_with_type_null_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    path = _with_inputs(tmp_path, {"prompt": {"type": None}})
    validate = run_cli(["validate", str(path)])
    assert validate.code == 1
    assert "error structure/schema: invalid JSON Schema type None" in validate.stdout
    run = run_cli(["run", str(path), "-i", "prompt=x", "--no-store"])
    assert run.code == 2  # it was an internal error (jsonschema's TypeError), exit 70
    assert "invalid JSON Schema type None" in run.stderr


def test_an_inputs_schema_jsonschema_cannot_apply_is_one_message(tmp_path: Path) -> None:
    path = _with_inputs(tmp_path, {"n": {"maxLength": "x"}})
    outcome = run_cli(["run", str(path), "-i", "n=abcd", "--no-store"])
    assert outcome.code == 2
    assert _said(outcome, tmp_path) == (
        "error: workflow 'wf' inputs: its inputs schema cannot be applied\n"
        "  why: TypeError: '>' not supported between instances of 'int' and 'str'\n"
        "  fix: `weft validate DOC` checks the document; make the inputs a valid JSON Schema\n"
    )


def test_a_password_that_does_not_match_its_schema_is_not_shown(tmp_path: Path) -> None:
    secret = 'pa\\ss"word-é'  # jsonschema quotes it with repr: 'pa\\\\ss"word-é'
    path = _with_inputs(tmp_path, {"pw": {"type": "string", "format": "password",
                                          "pattern": "^[0-9]+$"}})  # fmt: skip
    outcome = run_cli(["run", str(path), "-i", f"pw={secret}", "--no-store"])
    assert outcome.code == 2
    assert "does not match '^[0-9]+$'" in outcome.stderr
    assert repr(secret)[1:-1] not in outcome.stderr and secret not in outcome.stderr


def test_lint_of_an_output_whose_pointer_is_not_one_is_a_warning(tmp_path: Path) -> None:
    steps = [{"stepId": "get", "operationId": "getPet",
              "parameters": [{"name": "petId", "in": "path", "value": "1"}],
              "outputs": {"x": "$response.body#/~~~~~"}}]  # fmt: skip
    path = write(tmp_path, arazzo(steps), openapi=PETS_OPENAPI)
    outcome = run_cli(["lint", str(path)])  # it was an internal error (ExpressionError)
    assert outcome.code == 0
    assert "warning arazzo/invalid-output: output 'x' never has a value" in outcome.stdout
