"""weft's own structural checks agree with the official Arazzo JSON Schemas.

Every published pass/fail document (schema-tests-1.0, schema-tests-1.1) and every example in
examples-1.0 gets the same verdict from weft as from the official schema of its version, and
the pass/fail folders' own expectation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import SHARED, shared_path
from weft.document.parse import parse_bytes
from weft.document.structure import check_structure, family_of

REF = SHARED / "reference" / "arazzo"


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for family in ("1.0", "1.1"):
        folder = REF / f"schema-tests-{family}"
        for verdict in ("pass", "fail"):
            for path in sorted((folder / verdict).glob("*.yaml")):
                cases.append((str(path.relative_to(REF)), family, verdict))
    for path in sorted((REF / "examples-1.0").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        if isinstance(raw, dict) and "arazzo" in raw:
            cases.append((str(path.relative_to(REF)), "1.0", "example"))
    return cases


_SCHEMAS: dict[str, Any] = {}


def _official(family: str) -> Any:
    if family not in _SCHEMAS:
        import jsonschema

        schema = yaml.safe_load(
            shared_path("reference", "arazzo", f"schema-{family}", "schema.yaml").read_text()
        )
        _SCHEMAS[family] = jsonschema.Draft202012Validator(schema)
    return _SCHEMAS[family]


CASES = _cases() if REF.exists() else []


def test_reference_material_has_cases() -> None:
    shared_path("reference", "arazzo", "schema-tests-1.1")
    assert len(CASES) > 60


@pytest.mark.parametrize(("name", "family", "verdict"), CASES, ids=[c[0] for c in CASES])
def test_same_verdict_as_official_schema(name: str, family: str, verdict: str) -> None:
    path = shared_path("reference", "arazzo", *Path(name).parts)
    raw = parse_bytes(path.read_bytes(), str(path)).data
    official_ok = _official(family).is_valid(raw)
    problems = check_structure(raw, family if verdict != "example" else family_of(raw))
    weft_ok = not problems
    if verdict == "pass":
        assert official_ok
    elif verdict == "fail":
        assert not official_ok
    assert weft_ok == official_ok, problems
