"""Every document that triggers a ``weft validate``/``weft lint`` finding (the document
package's corpus, one per rule) run through ``weft run`` against a loopback server: refused
with the findings (exit 2) or run (exit 0/1), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.document.helpers import PETS_OPENAPI, write
from tests.document.test_no_crash import CORPUS
from tests.fuzz.cli import assert_clean, run_cli
from tests.fuzz.servers import Answer, AnswerServer

PET = Answer(status=200, body=b'{"id": "p-1", "name": "Rex", "status": "available"}')


@pytest.mark.parametrize("rule", sorted(CORPUS))
@pytest.mark.parametrize("as_json", [False, True])
def test_every_finding_document_runs_or_is_refused_cleanly(
    tmp_path: Path, answer_server: AnswerServer, rule: str, as_json: bool
) -> None:
    path = write(tmp_path, CORPUS[rule], openapi=PETS_OPENAPI)
    args = ["run", str(path), "--server", f"pets={answer_server.base_url}/api",
            "--store", str(tmp_path / "runs.sqlite3"), "--timeout", "5", "--pace", "off",
            "--max-steps", "20", *(["--json"] if as_json else [])]  # fmt: skip
    with answer_server.scripted([], PET):
        outcome = run_cli(args)
    assert_clean(outcome, frozenset({0, 1, 2}))
    if outcome.code == 2:
        assert outcome.stderr.startswith("error: "), outcome
    errors = run_cli(["validate", str(path)]).code == 1
    if not errors:
        assert outcome.code in (0, 1), outcome  # a document with warnings only runs
