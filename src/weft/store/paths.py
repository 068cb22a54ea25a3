"""Where the run store lives by default."""

from __future__ import annotations

import os
import sys
from pathlib import Path

STORE_ENV = "WEFT_STORE"
STORE_FILENAME = "runs.sqlite3"


def default_store_path() -> Path:
    """The per-user store location.

    ``WEFT_STORE`` wins; then ``$XDG_STATE_HOME/weft/runs.sqlite3`` when ``XDG_STATE_HOME`` is set;
    otherwise ``~/Library/Application Support/weft`` on macOS, ``%LOCALAPPDATA%\\weft`` on
    Windows and ``~/.local/state/weft`` elsewhere.
    """
    env = os.environ.get(STORE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "weft" / STORE_FILENAME
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "weft" / STORE_FILENAME
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = Path(local) if local else home / "AppData" / "Local"
        return base / "weft" / STORE_FILENAME
    return home / ".local" / "state" / "weft" / STORE_FILENAME


def resolve_store_path(path: str | os.PathLike[str] | None) -> Path:
    """An explicit ``path``, else :func:`default_store_path`."""
    if path is not None and str(path) != "":
        return Path(path).expanduser()
    return default_store_path()
