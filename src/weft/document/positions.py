"""Line and column of a node inside a source description, found only when a finding needs it.

Source descriptions are parsed without positions (fast); the bytes are kept, and the first
finding that points into a file parses that file again with positions.
"""

from __future__ import annotations

from weft.document.fetch import display
from weft.document.model import Location
from weft.document.parse import Parsed, parse_bytes
from weft.errors import DocumentError


class SourcePositions:
    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._parsed: dict[str, Parsed | None] = {}

    def add(self, uri: str, data: bytes) -> None:
        self._data[uri] = data

    def location(self, uri: str, pointer: str) -> Location:
        """``file:line:col`` of the node at ``pointer`` in the file at ``uri`` (its nearest
        ancestor when the node itself has no position; line 1 when the file is unknown)."""
        if uri not in self._parsed:
            data = self._data.get(uri)
            parsed = None
            if data is not None:
                try:
                    parsed = parse_bytes(data, display(uri))
                except DocumentError:
                    parsed = None
            self._parsed[uri] = parsed
        found = self._parsed[uri]
        if found is None:
            return Location(display(uri), 1, 1)
        return found.loc(pointer)
