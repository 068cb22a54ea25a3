"""Reading batch input rows from JSON Lines or CSV files.

JSONL: one JSON object per line (blank lines skipped). CSV: a header row naming the inputs;
cells are text (converted to the workflow's declared input types by the engine's input
coercion); an empty cell means "not given". Every problem names the file and line.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageError(
            "cannot read the batch inputs file",
            where=str(file),
            why=exc.strerror or str(exc),
            hint="pass an existing .jsonl or .csv file with --inputs",
        ) from None
    suffix = file.suffix.lower()
    if suffix == ".csv":
        return _read_csv(file, data)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _read_jsonl(file, data)
    raise UsageError(
        "unknown batch inputs format",
        where=str(file),
        why=f"the file name ends in {suffix or '(nothing)'!r}",
        hint="use a .jsonl file (one JSON object per line) or a .csv file with a header row",
    )


def _read_jsonl(file: Path, data: bytes) -> list[BatchRow]:
    rows: list[BatchRow] = []
    for line_no, line in enumerate(data.splitlines(), start=1):
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
        rows.append(BatchRow(number=len(rows) + 1, line=line_no, values=value))
    return rows


def _read_csv(file: Path, data: bytes) -> list[BatchRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            "the batch CSV file is not UTF-8 text", where=str(file), why=str(exc)
        ) from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise UsageError(
            "the batch CSV file has no header row",
            where=f"{file}:1",
            hint="start the file with a row naming the inputs, e.g. modelVersionId,prompt",
        )
    names = [h.strip() for h in header]
    rows: list[BatchRow] = []
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
        rows.append(BatchRow(number=len(rows) + 1, line=line_no, values=values, text_values=True))
    return rows
