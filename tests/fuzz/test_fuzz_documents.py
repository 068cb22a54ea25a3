"""``weft validate``, ``lint`` (``--diff``, ``--fix``, every format) and ``describe`` of mutated
documents: findings or one clear error, exit 0/1/2, never a traceback or a hang.

Tree mutations reach the checks; text mutations (cut, changed bytes, YAML tricks such as
recursive aliases, tags, merge keys, deep nesting) reach the parser.
"""

from __future__ import annotations

import shutil

from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.cli import assert_clean, run_cli
from tests.fuzz.corpus import Base, dump, mutated_text, mutated_tree
from tests.fuzz.strategies import fuzz_settings

DOCUMENT_EXITS = frozenset({0, 1, 2})
COMMANDS = [
    ["validate"],
    ["validate", "--format", "json"],
    ["validate", "--format", "sarif", "--strict"],
    ["validate", "--format", "github", "--no-sources"],
    ["lint"],
    ["lint", "--diff"],
    ["lint", "--format", "sarif"],
    ["describe"],
    ["describe", "--json"],
]


def _check(base: Base, text: str, command: list[str]) -> None:
    path = base.write(text)
    outcome = run_cli([*command, str(path)])
    event(f"{command[0]}: exit {outcome.code}")
    assert_clean(outcome, DOCUMENT_EXITS)
    if command[0] == "validate" and outcome.code == 0:
        assert "valid" in outcome.stdout + outcome.stderr or "--format" in command


@fuzz_settings(500)
@given(data=st.data(), command=st.sampled_from(COMMANDS))
def test_document_commands_on_mutated_trees(
    corpus: list[Base], data: st.DataObject, command: list[str]
) -> None:
    base, tree = data.draw(mutated_tree(corpus), label="document")
    _check(base, dump(tree), command)


@fuzz_settings(500)
@given(data=st.data(), command=st.sampled_from(COMMANDS))
def test_document_commands_on_mutated_text(
    corpus: list[Base], data: st.DataObject, command: list[str]
) -> None:
    base, text = data.draw(mutated_text(corpus), label="document")
    _check(base, text, command)


@fuzz_settings(30, long_cap=2000)
@given(data=st.data())
def test_lint_fix_rewrites_a_mutated_document_into_one_that_still_loads_or_says_why(
    corpus: list[Base], data: st.DataObject
) -> None:
    base, tree = data.draw(mutated_tree(corpus), label="document")
    path = base.write(dump(tree))
    copy = path.with_name("_fix.arazzo.yaml")
    shutil.copyfile(path, copy)
    outcome = run_cli(["lint", "--fix", str(copy)])
    assert_clean(outcome, DOCUMENT_EXITS)
    assert_clean(run_cli(["validate", "--no-sources", str(copy)]), DOCUMENT_EXITS)
