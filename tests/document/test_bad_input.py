"""Each kind of bad input: exit 2, one clear message, no traceback, no hang."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.document.helpers import GET_PET, PETS_OPENAPI, arazzo, write
from weft.cli import cli


def _run(path: Path | str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def _bad(path: Path | str, *fragments: str) -> None:
    code, out = _run(path)
    assert code == 2, out
    assert out.startswith("error: ")
    for fragment in fragments:
        assert fragment in out, out


def test_not_yaml(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("arazzo: 1.0.1\ninfo: [unclosed\n")
    _bad(p, "not valid YAML or JSON", f"{p}:")


def _invalid(path: Path | str, *fragments: str) -> None:
    """Read, but not valid: exit 1 with findings (``file:line:col: error rule: ...``)."""
    code, out = _run(path)
    assert code == 1, out
    assert "Traceback" not in out
    for fragment in fragments:
        assert fragment in out, out


def test_not_an_arazzo_document(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text(yaml.safe_dump(PETS_OPENAPI))
    _invalid(p, f"{p}:1:1: error arazzo/not-arazzo", "looks like an OpenAPI description")
    p.write_text("- a\n- b\n")
    _invalid(p, f"{p}:1:1: error arazzo/not-arazzo: not an Arazzo document")


@pytest.mark.parametrize("version", ["2.0.0", "1.2.0", "1.0"])
def test_unknown_version(tmp_path: Path, version: str) -> None:
    doc = arazzo([GET_PET])
    doc["arazzo"] = version
    path = write(tmp_path, doc)
    _invalid(path, f"{path}:1:9: error arazzo/version: unsupported Arazzo version")


def test_missing_document(tmp_path: Path) -> None:
    _bad(tmp_path / "nope.yaml", "not found", "nope.yaml")


def test_missing_source_is_a_finding_at_its_url(tmp_path: Path) -> None:
    doc = arazzo([GET_PET])
    doc["sourceDescriptions"][0]["url"] = "missing/pets.yaml"
    path = write(tmp_path, doc)
    _invalid(
        path,
        f"{path}:7:8: error arazzo/source-unreadable: source description 'pets' cannot be loaded",
        str(tmp_path / "missing" / "pets.yaml"),
    )


def test_unreadable_source(tmp_path: Path) -> None:
    doc = arazzo([GET_PET])
    path = write(tmp_path, doc)
    (tmp_path / "pets.yaml").write_text("openapi: [3.1\n")
    _invalid(path, "arazzo/source-unreadable", "cannot be loaded", "not valid YAML")


def test_ref_cycle_in_a_used_parameter(tmp_path: Path) -> None:
    api = yaml.safe_load(yaml.safe_dump(PETS_OPENAPI))
    api["components"]["parameters"]["PetId"] = {"$ref": "#/components/parameters/Other"}
    api["components"]["parameters"]["Other"] = {"$ref": "#/components/parameters/PetId"}
    path = write(tmp_path, arazzo([GET_PET]), openapi=api)
    _invalid(path, "error arazzo/operation-broken-ref", "is part of a cycle")


def test_twenty_megabyte_document(tmp_path: Path) -> None:
    doc = arazzo([GET_PET])
    doc["info"]["description"] = "x" * (20 * 1024 * 1024)
    _bad(write(tmp_path, doc), "too large")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "a:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(2000)),
        "x: " + "[" * 900 + "]" * 900,
    ],
)
def test_deeply_nested(tmp_path: Path, text: str) -> None:
    p = tmp_path / "deep.yaml"
    p.write_text(text)
    code, out = _run(p)
    assert code == 2 and out.startswith("error: "), out
    assert "nest" in out or "not valid YAML" in out


def test_alias_bomb(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    p = tmp_path / "bomb.yaml"
    p.write_text("\n".join(lines) + "\n")
    _bad(p, "too large")


def test_empty_document(tmp_path: Path) -> None:
    p = tmp_path / "e.yaml"
    p.write_text("")
    _bad(p, "empty")
