from __future__ import annotations

from pathlib import Path

import pytest

from weft.batch.rows import read_rows
from weft.errors import UsageError


def test_jsonl_rows_keep_types_and_line_numbers(tmp_path: Path) -> None:
    f = tmp_path / "in.jsonl"
    f.write_text('{"prompt": "a cat", "quantity": 2}\n\n{"prompt": "a dog"}\n')
    rows = read_rows(f)
    assert [r.number for r in rows] == [1, 2]
    assert [r.line for r in rows] == [1, 3]
    assert rows[0].values == {"prompt": "a cat", "quantity": 2}
    assert not rows[0].text_values
    assert rows[0].digest != rows[1].digest


def test_csv_rows_are_text_and_empty_cells_are_absent(tmp_path: Path) -> None:
    f = tmp_path / "in.csv"
    f.write_text('modelVersionId,prompt,quantity\n128713,"a cat, sitting",\n4201,a dog,3\n')
    rows = read_rows(f)
    assert rows[0].values == {"modelVersionId": "128713", "prompt": "a cat, sitting"}
    assert rows[1].values == {"modelVersionId": "4201", "prompt": "a dog", "quantity": "3"}
    assert rows[1].text_values and rows[1].line == 3


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"a": 1}\n{oops\n', "bad.jsonl:2"),
        ("list.jsonl", "[1, 2]\n", "not a JSON object"),
        ("rows.txt", "a,b\n", "unknown batch inputs format"),
        ("empty.csv", "", "no header row"),
        ("wide.csv", "a\n1,2\n", "more cells than the header"),
    ],
)
def test_bad_inputs_name_file_and_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    f = tmp_path / name
    f.write_text(content)
    with pytest.raises(UsageError) as info:
        read_rows(f)
    assert message in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        read_rows(tmp_path / "nope.jsonl")
