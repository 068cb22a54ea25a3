"""Everything a SQLite run store file holds, as bytes a test can search for a secret: the raw
files (database, WAL, SHM) and every value of every table with compressed documents unpacked
(the store zlib-compresses larger JSON documents, which a byte search would not see into)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from weft.store.codec import unpack_bytes


def sqlite_used_bytes(path: Path) -> int:
    """The bytes of a SQLite store's pages in use, after its WAL is checkpointed (free pages
    not counted): what the runs in it take."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        (free,) = conn.execute("PRAGMA freelist_count").fetchone()
        (page,) = conn.execute("PRAGMA page_size").fetchone()
    finally:
        conn.close()
    return int((pages - free) * page)


def store_contents(path: Path) -> bytes:
    """The raw bytes of ``path`` and its ``-wal``/``-shm`` files, then every stored value
    (text as UTF-8, blobs unpacked when they are packed documents)."""
    parts = [p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")) if p.is_file()]
    if path.exists():
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    for value in row:
                        if isinstance(value, bytes):
                            try:
                                parts.append(unpack_bytes(value))
                            except Exception:
                                parts.append(value)
                        elif isinstance(value, str):
                            parts.append(value.encode())
        finally:
            conn.close()
    return b"\n".join(parts)


__all__ = ["sqlite_used_bytes", "store_contents"]
