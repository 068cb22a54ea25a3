"""Everything a PostgreSQL database holds, as bytes a test can search for a secret.

Two views: ``pg_dump``'s text of the whole database (every schema: the run store's tables,
DBOS's ``dbos`` tables, ``weft_scaleout``), and every value of every table read back, with the
store's compressed documents unpacked (zlib: a byte search would not see into them, see
``weft.store.codec``) and base64 text decoded (a serializer may encode values so).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import subprocess
from typing import Any

import psycopg

from weft.store.codec import unpack_bytes
from weft.testing.postgres import PostgresServer

_BASE64 = re.compile(rb"^[A-Za-z0-9+/=\s]{16,}$")


def _values(value: Any) -> list[bytes]:
    if value is None:
        return []
    if isinstance(value, memoryview | bytes):
        raw = bytes(value)
        try:
            return [raw, unpack_bytes(raw)]
        except Exception:
            return [raw]
    text = str(value).encode()
    found = [text]
    if _BASE64.match(text):
        with contextlib.suppress(binascii.Error, ValueError):
            found.append(base64.b64decode(text, validate=False))
    return found


def database_contents(server: PostgresServer, url: str) -> bytes:
    """``pg_dump`` of ``url``'s database, then every value of every table (see above)."""
    name = url.rsplit("/", 1)[1]
    dump = subprocess.run(
        [str(server.bin_dir / "pg_dump"), "-h", server.host, "-p", str(server.port),
         "-U", "postgres", "--no-owner", name],
        capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    parts = [dump]
    with psycopg.connect(url) as conn:
        tables = _tables(conn)
        for schema, table in tables:
            for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"'):
                for value in row:
                    parts.extend(_values(value))
    return b"\n".join(parts)


def schemas_with_rows(url: str) -> dict[str, int]:
    """How many rows each schema's tables hold (proof the search looked at real data)."""
    counts: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        tables = _tables(conn)
        for schema, table in tables:
            row = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
            counts[schema] = counts.get(schema, 0) + int(row[0] if row else 0)
    return counts


def _tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """(schema, table) of every table outside PostgreSQL's own schemas."""
    rows = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_type = 'BASE TABLE'"
        " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
    ).fetchall()
    return [(str(schema), str(table)) for schema, table in rows]
