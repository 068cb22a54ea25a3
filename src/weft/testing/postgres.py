"""A throwaway PostgreSQL server on 127.0.0.1, for tests and benchmarks.

```python
from weft.testing.postgres import PostgresUnavailable, running_postgres, fresh_database
with running_postgres() as server:          # initdb + pg_ctl start in a temporary directory
    url = fresh_database(server)            # postgresql://postgres@127.0.0.1:PORT/weft_N
    store = open_store(url)
```

The server binaries come from ``$WEFT_PG_BIN``, else the newest
``/usr/lib/postgresql/*/bin`` (Debian's ``postgresql`` package), else ``pg_config
--bindir``; without them :class:`PostgresUnavailable` says what to install. PostgreSQL refuses
to run as root: as root the cluster is created and run as the ``postgres`` user
(``runuser -u postgres``), its directory owned by that user. The server listens on 127.0.0.1 and
a Unix socket in its directory, trusts local connections, and is stopped (``-m immediate``) and
deleted when the block ends. ``fsync=False`` (the default, for tests) skips disk syncs: a
benchmark comparing durability costs passes ``fsync=True``.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries (or no way to run them) on this machine."""


@dataclass(frozen=True)
class PostgresServer:
    """A running server: ``url`` reaches its ``postgres`` database as the superuser."""

    host: str
    port: int
    bin_dir: Path
    data_dir: Path

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{name}"


def find_bin_dir() -> Path:
    """The directory of ``initdb`` and ``pg_ctl``, or :class:`PostgresUnavailable`."""
    env = os.environ.get("WEFT_PG_BIN")
    candidates = [Path(env)] if env else []
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    candidates += [Path(p).parent for p in reversed(found)]
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in $WEFT_PG_BIN, "
        "/usr/lib/postgresql/*/bin or `pg_config --bindir`; install them with "
        "`apt-get install -y postgresql`"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(argv: list[str]) -> tuple[list[str], int | None]:
    """``argv`` run as the ``postgres`` user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return argv, None
    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        raise PostgresUnavailable(
            "running as root, and there is no `postgres` user to run the server as "
            "(`apt-get install -y postgresql` creates it)"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root, and `runuser` is missing")
    return [runuser, "-u", "postgres", "--", *argv], uid


def _run(argv: list[str], what: str) -> None:
    command, _ = _as_server_user(argv)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{what} failed: {(done.stderr or done.stdout).strip()[-500:]}")


@contextlib.contextmanager
def running_postgres(*, fsync: bool = False) -> Iterator[PostgresServer]:
    """Start a private PostgreSQL server for the ``with`` block (see the module docstring)."""
    bin_dir = find_bin_dir()
    base = Path(tempfile.mkdtemp(prefix="weft-pg-"))
    data = base / "data"
    try:
        _, uid = _as_server_user([])
        if uid is not None:
            os.chown(base, uid, -1)
        os.chmod(base, 0o700)
        _run(
            [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--no-sync"],
            "initdb",
        )  # fmt: skip
        port = _free_port()
        options = f"-p {port} -k {base} -h 127.0.0.1 -c fsync={'on' if fsync else 'off'}"
        if not fsync:
            options += " -c synchronous_commit=off -c full_page_writes=off"
        _run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
             str(base / "server.log"), "-w", "-t", "60", "start"],
            "pg_ctl start",
        )  # fmt: skip
        try:
            yield PostgresServer("127.0.0.1", port, bin_dir, data)
        finally:
            with contextlib.suppress(PostgresUnavailable, subprocess.SubprocessError):
                _run(
                    [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                    "pg_ctl stop",
                )
    finally:
        shutil.rmtree(base, ignore_errors=True)


_names = itertools.count(1)


def fresh_database(server: PostgresServer, prefix: str = "weft") -> str:
    """Create an empty database on ``server``; its URL."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{next(_names)}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.database_url(name)


def drop_database(server: PostgresServer, url: str) -> None:
    """Drop a database made by :func:`fresh_database` (its connections are ended first)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


__all__ = [
    "PostgresServer",
    "PostgresUnavailable",
    "drop_database",
    "find_bin_dir",
    "fresh_database",
    "running_postgres",
]
