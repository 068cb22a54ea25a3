"""Reading batch input rows from JSON Lines or CSV files.

JSONL: one JSON object per line (blank lines skipped). CSV: a header row naming the inputs;
cells are text (converted to the workflow's declared input types by the engine's input
coercion); an empty cell means "not given". Every problem names the file and line.

The file is read line by line as rows are asked for (:func:`iter_rows`; a batch holds the rows
in flight, not the file), each line bounded (:data:`MAX_LINE_BYTES`): a device or an
endless stream given as a rows file (``/dev/zero``) is one clear error, not a memory error. A
row nested deeper than :data:`MAX_DEPTH` or holding an integer beyond 64 bits (which a JSON
reader would turn into an approximate float) is refused the same way.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from weft.errors import UsageError

MAX_LINE_BYTES = 1024 * 1024  # a longer line (or CSV cell) is refused
MAX_DEPTH = 200  # nesting of a row's values
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what a 64-bit JSON reader (and the store) keeps
_LONG_DIGITS = re.compile(rb"\d{20}")  # a number that may not fit in 64 bits
_JSONL_HINT = 'write one JSON object per line, e.g. {"prompt": "a cat"}'


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One input row: its 1-based number in the file and its input values by name."""

    number: int
    line: int
    values: dict[str, Any]
    text_values: bool = False  # True for CSV: values are strings to be converted by type

    @property
    def digest(self) -> str:
        """A stable fingerprint of the row's values (to recognise the same row on a re-run)."""
        raw = orjson.dumps(self.values, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(raw).hexdigest()[:16]


def read_rows(path: str | Path) -> list[BatchRow]:
    """Read every row of ``path`` (``.jsonl``/``.ndjson``/``.json`` lines, or ``.csv``)."""
    return list(iter_rows(path))


def count_rows(path: str | Path) -> int:
    """Read ``path`` through, keeping nothing: its number of rows, or the
    :class:`~weft.errors.UsageError` of its first bad line (before a batch starts)."""
    return sum(1 for _ in iter_rows(path))


def iter_rows(path: str | Path) -> Iterator[BatchRow]:
    """The rows of ``path`` one at a time, read as they are asked for (a batch holds the rows
    in flight, not the file). A bad line raises when it is reached: :func:`count_rows` first."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise UsageError(
            "unknown batch inputs format",
            where=str(file),
            why=f"the file name ends in {suffix or '(nothing)'!r}",
            hint="use a .jsonl file (one JSON object per line) or a .csv file with a header row",
        )
    try:
        stream = file.open("rb")
    except OSError as exc:
        raise _unreadable(file, exc) from None
    with stream:
        if suffix == ".csv":
            yield from _read_csv(file, _lines(file, stream))
        else:
            yield from _read_jsonl(file, _lines(file, stream))


def _unreadable(file: Path, exc: OSError) -> UsageError:
    return UsageError(
        "cannot read the batch inputs file",
        where=str(file),
        why=exc.strerror or str(exc),
        hint="pass an existing .jsonl or .csv file with --inputs",
    )


def _lines(file: Path, stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` of ``stream``, each line at most :data:`MAX_LINE_BYTES`."""
    number = 0
    while True:
        try:
            line = stream.readline(MAX_LINE_BYTES + 1)
        except OSError as exc:
            raise _unreadable(file, exc) from None
        if not line:
            return
        number += 1
        if len(line.rstrip(b"\r\n")) > MAX_LINE_BYTES:
            raise UsageError(
                f"line {number} of the batch inputs file is longer than "
                f"{MAX_LINE_BYTES // 1024 // 1024} MiB",
                where=str(file),
                why="it may not be a file of rows (a device, an endless stream)",
                hint="pass a .jsonl file (one JSON object per line) or a .csv file",
            )
        yield number, line


def _read_jsonl(file: Path, lines: Iterator[tuple[int, bytes]]) -> Iterator[BatchRow]:
    number = 0
    for line_no, line in lines:
        if not line.strip():
            continue
        where = f"{file}:{line_no}"
        value = _json_line(line, where)
        if not isinstance(value, dict):
            raise UsageError(
                "a batch input line is not a JSON object",
                where=where,
                why=f"found {type(value).__name__}",
                hint=_JSONL_HINT,
            )
        _check_nesting(value, where)
        number += 1
        yield BatchRow(number=number, line=line_no, values=value)


class _TooLarge(ValueError):
    pass


def _int64(text: str) -> int:
    number = int(text)
    if not _INT_MIN <= number <= _INT_MAX:
        raise _TooLarge(text)
    return number


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _json_line(line: bytes, where: str) -> Any:
    try:
        if _LONG_DIGITS.search(line) is None:
            return orjson.loads(line)
        # orjson reads an integer beyond 64 bits as an approximate float: read it exactly
        value = json.loads(line.decode(), parse_int=_int64, parse_constant=_no_constant)
        orjson.dumps(value)  # and refuse what orjson does ("\ud800": not UTF-8 text)
        return value
    except _TooLarge as exc:
        raise UsageError(
            f"a batch input line holds the number {str(exc)[:20]}…, too large to keep",
            where=where,
            why="numbers are kept as 64-bit integers",
            hint="write it as a string if it is an identifier",
        ) from None
    except (ValueError, TypeError, RecursionError) as exc:  # also orjson.JSONEncodeError
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise UsageError(
            "a batch input line is not valid JSON", where=where, why=why, hint=_JSONL_HINT
        ) from None


def _check_nesting(value: Any, where: str) -> None:
    """Refuse values nested deeper than :data:`MAX_DEPTH` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise UsageError(
                f"a batch input row is nested more than {MAX_DEPTH} levels deep",
                where=where,
                hint="flatten the row's values",
            )
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)


def _text_lines(file: Path, lines: Iterator[tuple[int, bytes]]) -> Iterator[str]:
    for line_no, line in lines:
        try:
            text = line.decode("utf-8-sig" if line_no == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(
                "the batch CSV file is not UTF-8 text", where=f"{file}:{line_no}", why=str(exc)
            ) from None
        yield text


def _read_csv(file: Path, lines: Iterator[tuple[int, bytes]]) -> Iterator[BatchRow]:
    reader = csv.reader(_text_lines(file, lines))
    try:
        yield from _csv_rows(file, reader)
    except csv.Error as exc:
        raise UsageError(
            "the batch CSV file cannot be read",
            where=f"{file}:{reader.line_num}",
            why=str(exc),
            hint="close every quoted cell; quote cells that hold commas, quotes or line breaks",
        ) from None


def _csv_rows(file: Path, reader: Any) -> Iterator[BatchRow]:
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise UsageError(
            "the batch CSV file has no header row",
            where=f"{file}:1",
            hint="start the file with a row naming the inputs, e.g. modelVersionId,prompt",
        )
    names = [h.strip() for h in header]
    number = 0
    for cells in reader:
        line_no = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(names):
            raise UsageError(
                "a batch CSV row has more cells than the header",
                where=f"{file}:{line_no}",
                why=f"{len(cells)} cells, {len(names)} column names",
                hint="quote cells that contain commas",
            )
        values = {name: cell for name, cell in zip(names, cells, strict=False) if cell != ""}
        number += 1
        yield BatchRow(number=number, line=line_no, values=values, text_values=True)
