"""A batch's results file: one JSON line per row, written as rows finish, in row order at the end.

Lines are appended (and flushed) as rows finish, never truncating what an earlier run of the
batch wrote; :meth:`ResultsFile.finish` then rewrites the file from itself in row order, one line
per row (the last one written for a row wins), under a temporary name renamed over it. Nothing
is held in memory but an index of the lines (about 30 bytes a row), whatever the number of rows.
A kill at any moment loses no line already written (a row may then appear twice until the batch
is run again to its end).
"""

from __future__ import annotations

import mmap
import os
from array import array
from pathlib import Path
from typing import IO, Any

import orjson

from weft.batch.results import RowResult


class ResultsFile:
    """The results file at ``path`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] | None = self.path.open("ab")
        if self._file.tell() and not _ends_with_newline(self.path):
            self._file.write(b"\n")  # a line cut short by a kill stays a line of its own

    def add(self, row: RowResult) -> None:
        if self._file is not None:
            self._file.write(orjson.dumps(row.to_dict(), default=_default) + b"\n")
            self._file.flush()

    def finish(self, rows: int | None = None) -> None:
        """Rewrite the file in row order, one line per row, from the lines it holds. ``rows``:
        the batch ran to its end and reported rows 1..``rows`` (lines of other rows, left by
        an earlier run of a longer inputs file, are dropped); ``None``: keep every row."""
        self.close()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with self.path.open("rb") as source, tmp.open("wb") as out:
            size = os.fstat(source.fileno()).st_size
            if size:
                with mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    _write_sorted(data, out, rows)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _write_sorted(data: mmap.mmap, out: IO[bytes], rows: int | None) -> None:
    numbers, starts, ends = array("q"), array("q"), array("q")
    at, size = 0, len(data)
    while at < size:
        end = data.find(b"\n", at)
        if end < 0:
            end = size
        number = _row_number(data[at:end])
        if number is not None and (rows is None or 1 <= number <= rows):
            numbers.append(number)
            starts.append(at)
            ends.append(end)
        at = end + 1
    order = sorted(range(len(numbers)), key=numbers.__getitem__)  # stable: later lines last
    for k, i in enumerate(order):
        if k + 1 < len(order) and numbers[order[k + 1]] == numbers[i]:
            continue  # a later line of the same row wins
        out.write(data[starts[i] : ends[i]] + b"\n")


def _row_number(line: bytes) -> int | None:
    """The ``row`` of a results line; ``None`` for anything else (a line cut short by a kill)."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, dict):
        number = value.get("row")
        if isinstance(number, int) and not isinstance(number, bool):
            return number
    return None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


__all__ = ["ResultsFile"]
