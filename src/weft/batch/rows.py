"""Reading batch input rows from JSON Lines or CSV files.

JSONL: one JSON object per line (blank lines skipped). CSV: a header row naming the inputs;
cells are text (converted to the workflow's declared input types by the engine's input
coercion); an empty cell means "not given". Every problem names the file and line.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from weft.errors import UsageError


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
        handle = file.open("rb")
    except OSError as exc:
        raise _unreadable(file, exc) from None
    with handle:
        if suffix == ".csv":
            yield from _csv_rows(file, handle)
        else:
            yield from _jsonl_rows(file, handle)


def _unreadable(file: Path, exc: OSError) -> UsageError:
    return UsageError(
        "cannot read the batch inputs file",
        where=str(file),
        why=exc.strerror or str(exc),
        hint="pass an existing .jsonl or .csv file with --inputs",
    )


def _lines(file: Path, handle: IO[bytes]) -> Iterator[bytes]:
    """The file's lines as ``bytes.splitlines`` cuts them (``\n``, ``\r\n`` or ``\r``)."""
    try:
        for chunk in handle:
            if b"\r" in chunk:
                yield from chunk.splitlines()
            else:
                yield chunk[:-1] if chunk.endswith(b"\n") else chunk
    except OSError as exc:
        raise _unreadable(file, exc) from None


def _jsonl_rows(file: Path, handle: IO[bytes]) -> Iterator[BatchRow]:
    number = 0
    for line_no, line in enumerate(_lines(file, handle), start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise UsageError(
                "a batch input line is not valid JSON",
                where=f"{file}:{line_no}",
                why=str(exc),
                hint='write one JSON object per line, e.g. {"prompt": "a cat"}',
            ) from None
        if not isinstance(value, dict):
            raise UsageError(
                "a batch input line is not a JSON object",
                where=f"{file}:{line_no}",
                why=f"found {type(value).__name__}",
                hint='write one JSON object per line, e.g. {"prompt": "a cat"}',
            )
        number += 1
        yield BatchRow(number=number, line=line_no, values=value)


def _csv_rows(file: Path, handle: IO[bytes]) -> Iterator[BatchRow]:
    text = _decoded(file, _lines(file, handle))
    reader = csv.reader(text)
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise UsageError(
            "the batch CSV file has no header row",
            where=f"{file}:1",
            hint="start the file with a row naming the inputs, e.g. modelVersionId,prompt",
        )
    names = [h.strip() for h in header]
    number = 0
    for line_no, cells in enumerate(reader, start=2):
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


def _decoded(file: Path, lines: Iterator[bytes]) -> Iterator[str]:
    """The lines as UTF-8 text (a byte-order mark at the start is dropped)."""
    first = True
    for line in lines:
        try:
            text = line.decode("utf-8-sig" if first else "utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(
                "the batch CSV file is not UTF-8 text", where=str(file), why=str(exc)
            ) from None
        first = False
        yield text
