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


def test_lines_are_read_one_by_one_and_bounded(tmp_path: Path) -> None:
    from weft.batch.rows import MAX_LINE_BYTES

    f = tmp_path / "rows.jsonl"
    f.write_text('{"a": 1}\n' + '{"a": "' + "x" * MAX_LINE_BYTES + '"}\n')
    with pytest.raises(UsageError) as info:
        read_rows(f)
    assert str(info.value).startswith(f"{f}: line 2 of the batch inputs file is longer than 1 MiB")
    endless = tmp_path / "endless.jsonl"
    endless.symlink_to("/dev/zero")
    with pytest.raises(UsageError, match="line 1 of the batch inputs file is longer"):
        read_rows(endless)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": 123456789012345678901234567890}', "holds the number 12345678901234567890…"),
        ('{"id": -99999999999999999999}', "holds the number -9999999999999999999…"),
        ('{"id": ' + "[" * 300 + "]" * 300 + "}", "nested more than 200 levels deep"),
        ('{"id": ' + "[" * 5000 + "]" * 5000 + "}", "not valid JSON"),
        # a 20-digit run (here in a string) reads the line with the exact reader: it refuses
        # what orjson refuses too
        ('{"id": "\\ud800", "s": "12345678901234567890123"}', "not valid JSON"),
        ('{"s": "12345678901234567890123", "x": NaN}', "not valid JSON"),
    ],
)
def test_numbers_beyond_64_bits_and_deep_rows_are_refused(
    tmp_path: Path, line: str, message: str
) -> None:
    f = tmp_path / "rows.jsonl"
    f.write_text('{"ok": 1}\n' + line + "\n")
    with pytest.raises(UsageError) as info:
        read_rows(f)
    assert f"{f}:2" in str(info.value) and message in str(info.value)


def test_a_20_digit_string_or_a_64_bit_number_is_read_exactly(tmp_path: Path) -> None:
    f = tmp_path / "rows.jsonl"
    f.write_text('{"id": "12345678901234567890123", "n": 18446744073709551615}\n')
    (row,) = read_rows(f)
    assert row.values == {"id": "12345678901234567890123", "n": 18446744073709551615}


def test_csv_quoted_line_breaks_and_field_limit(tmp_path: Path) -> None:
    f = tmp_path / "rows.csv"
    f.write_text('id,note\n1,"two\nlines"\n2,plain\r\n')
    rows = read_rows(f)
    assert [r.values for r in rows] == [{"id": "1", "note": "two\nlines"},
                                        {"id": "2", "note": "plain"}]  # fmt: skip
    assert [r.line for r in rows] == [3, 4]  # the line each row ends on
    big = tmp_path / "big.csv"
    big.write_text('id\n"' + "x" * 200_000 + '"\n')
    with pytest.raises(UsageError, match="field larger than field limit"):
        read_rows(big)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id\n\xff\n")
    with pytest.raises(UsageError, match=r"bad.csv:2: the batch CSV file is not UTF-8 text"):
        read_rows(bad)
