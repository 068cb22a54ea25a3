"""``weft run`` of mutated documents against a server answering fuzzed HTTP: whatever happens,
the command ends (bounded), with an exit code in 0-4, no traceback, and no secret in any output
or in the run store.

Most cases run in this process (``weft.cli.main`` under click's runner, bounded in time); a few
run as real ``weft`` processes (bounded by a subprocess timeout).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import assume, event, given
from hypothesis import strategies as st

from tests.fuzz.cli import Outcome, assert_clean, run_cli, run_subprocess
from tests.fuzz.corpus import Base, dump, mutated_tree, source_names, workflow_inputs
from tests.fuzz.leaks import find_leaks, store_files
from tests.fuzz.servers import AnswerServer
from tests.fuzz.strategies import answers, cli_value, fuzz_settings

SECRET = 'fz-S3cr3t+/=="\\é'  # planted in every `format: password` input
INTEGERS = ["1", "0", "-7", "9223372036854775807", "123456789012345678901234567890", "x", ""]


def _workflow_ids(tree: Any) -> list[str]:
    workflows = tree.get("workflows") if isinstance(tree, dict) else None
    ids = [w.get("workflowId") for w in workflows or [] if isinstance(w, dict)]
    return [i for i in ids if isinstance(i, str)]


_FORMATS = {"date-time": "2020-01-02T03:04:05Z", "date": "2020-01-02", "uri": "http://x.test/1",
            "email": "a@x.test", "uuid": "00000000-0000-0000-0000-000000000000"}  # fmt: skip


def _example(schema: Any, depth: int = 0) -> Any:
    """A value an input's schema takes: its default, first enum value, minimum, its required
    properties (first of a oneOf/anyOf), enough array items."""
    if not isinstance(schema, dict) or depth > 10:
        return "x"
    if "default" in schema:
        return schema["default"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("oneOf", "anyOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _example(schema[key][0], depth + 1)
    kind = schema.get("type")
    if kind in ("integer", "number"):
        low = schema.get("minimum")
        return low if isinstance(low, int | float) else 1
    if kind == "boolean":
        return True
    if kind == "array":
        count = schema.get("minItems") if isinstance(schema.get("minItems"), int) else 0
        return [_example(schema.get("items"), depth + 1) for _ in range(min(count, 3))]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = schema.get("required") if isinstance(schema.get("required"), list) else []
        return {k: _example(props.get(k), depth + 1) for k in required if isinstance(k, str)}
    return _FORMATS.get(str(schema.get("format")), "x")


@st.composite
def run_case(draw: st.DrawFn, corpus: list[Base]) -> tuple[Base, Any, list[str], bool]:
    """A mutated document, the arguments of its ``weft run`` (the server URLs are added when
    it runs), and whether a secret was planted."""
    base, tree = draw(mutated_tree(corpus, gentle=True))
    ids = _workflow_ids(tree)
    index = draw(st.sampled_from(range(len(ids)))) if ids and draw(st.booleans()) else 0
    args: list[str] = ["-w", ids[index]] if index else []
    values: dict[str, Any] = {}
    planted = False
    fuzzed = not draw(st.integers(0, 3))  # one case in four types odd values
    for name, schema in workflow_inputs(tree, index).items():
        if fuzzed and not draw(st.integers(0, 9)):
            continue  # leave an input out now and then
        if schema.get("format") == "password":
            values[name], planted = SECRET, True
        elif not fuzzed or draw(st.booleans()):
            values[name] = _example(schema)
        elif schema.get("type") == "integer":
            values[name] = draw(st.sampled_from(INTEGERS))
        else:
            values[name] = draw(cli_value())
    if draw(st.booleans()):
        for name, value in values.items():
            args += ["-i", f"{name}={value if isinstance(value, str) else json.dumps(value)}"]
    else:
        args += ["--inputs", json.dumps(values)]  # replaced by a file's path when it runs
    args += draw(st.sampled_from([[], ["--json"], ["--strict"], ["--json", "--strict"]]))
    return base, tree, args, planted


def _run(
    base: Base,
    tree: Any,
    args: list[str],
    server: AnswerServer,
    folder: Path,
    *,
    subprocess: bool = False,
) -> tuple[Outcome, dict[str, bytes]]:
    path = base.write(dump(tree))
    if "--inputs" in args:
        at = args.index("--inputs") + 1
        (folder / "inputs.json").write_text(args[at])
        args = [*args[:at], str(folder / "inputs.json"), *args[at + 1 :]]
    store = folder / "runs.sqlite3"
    full = ["run", str(path), *args, "--timeout", "3", "--max-steps", "40", "--pace", "off",
            "--retries", "2", "--store", str(store)]  # fmt: skip
    for name in source_names(tree):
        full += ["--server", f"{name}={server.base_url}"]
    outcome = run_subprocess(full, timeout=60) if subprocess else run_cli(full)
    return outcome, {"stdout": outcome.stdout.encode(), "stderr": outcome.stderr.encode(),
                     **store_files(store)}  # fmt: skip


def _judge(outcome: Outcome, outputs: dict[str, bytes], planted: bool) -> None:
    event(f"exit {outcome.code}")
    if outcome.code == 2:
        first = outcome.stderr.splitlines()[0] if outcome.stderr else ""
        event("why: " + re.sub(r"/tmp/\S+|'[^']*'|\d+", "_", first)[:90])
        if "inputs schema" in first:
            event("because: " + outcome.stderr.splitlines()[1][:100])
    assert_clean(outcome)
    if planted:
        leaks = find_leaks([SECRET], outputs)
        assert not leaks, f"{outcome}\n" + "\n".join(leaks[:10])


@fuzz_settings(400)
@given(data=st.data(), script=answers())
def test_weft_run_of_mutated_documents_against_fuzzed_answers(
    corpus: list[Base], answer_server: AnswerServer, data: st.DataObject, script: list[Any]
) -> None:
    base, tree, args, planted = data.draw(run_case(corpus), label="case")
    with tempfile.TemporaryDirectory() as folder, answer_server.scripted(script):
        outcome, outputs = _run(base, tree, args, answer_server, Path(folder))
        event(f"{base.name}: {min(len(answer_server.requests), 3)}+ requests")
    _judge(outcome, outputs, planted)


@fuzz_settings(6, long_cap=200)
@given(data=st.data(), script=answers())
def test_real_weft_processes_of_mutated_documents_against_fuzzed_answers(
    corpus: list[Base], answer_server: AnswerServer, data: st.DataObject, script: list[Any]
) -> None:
    base, tree, args, planted = data.draw(run_case(corpus), label="case")
    # no process can be handed a NUL byte in its arguments (the in-process test above takes
    # such values; the --inputs payload goes into a file)
    argv = [a for i, a in enumerate(args) if i == 0 or args[i - 1] != "--inputs"]
    assume(not any("\x00" in a for a in argv))
    with tempfile.TemporaryDirectory() as folder, answer_server.scripted(script):
        outcome, outputs = _run(base, tree, args, answer_server, Path(folder), subprocess=True)
    _judge(outcome, outputs, planted)
