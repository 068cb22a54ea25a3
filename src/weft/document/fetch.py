"""Reading documents from paths and URLs (``file:``, ``http(s):``), with size limits.

A location is turned into an absolute URI (paths become ``file:`` URIs) so that relative
references resolve per RFC 3986. ``fetch`` may be injected (tests, caches): it is called with
the absolute URI and returns the bytes; :func:`default_fetch` reads files and HTTP(S).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from weft.errors import DocumentError

Fetch = Callable[[str], bytes]

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024  # an Arazzo document (~25,000 steps)
MAX_SOURCE_BYTES = 64 * 1024 * 1024  # an OpenAPI/AsyncAPI description
HTTP_TIMEOUT = 20.0

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def to_uri(location: str, base: str | None = None) -> str:
    """An absolute URI for ``location`` (a path, or a URL; relative ones against ``base``)."""
    if _SCHEME.match(location) and not re.match(r"^[A-Za-z]:[\\/]", location):
        return location
    if base is not None:
        return urljoin(base, location)
    return Path(os.path.abspath(location)).as_uri()


def resolve(base: str, reference: str) -> str:
    """RFC 3986 reference resolution."""
    return urljoin(base, reference)


def display(uri: str) -> str:
    """A ``file:`` URI as a filesystem path (what users typed); other URIs unchanged."""
    if uri.startswith("file:"):
        return unquote(urlsplit(uri).path)
    return uri


def default_fetch(uri: str, limit: int = MAX_SOURCE_BYTES) -> bytes:
    """Read a ``file:`` or ``http(s):`` URI; OSError/ValueError on failure or when too large."""
    scheme = urlsplit(uri).scheme.lower()
    if scheme == "file":
        path = display(uri)
        size = os.path.getsize(path)
        if size > limit:
            raise _TooLarge(size, limit)
        with open(path, "rb") as fh:
            content = fh.read(limit + 1)  # a device or a pipe has no size: read at most the limit
        if len(content) > limit:
            raise _TooLarge(None, limit)
        return content
    if scheme in ("http", "https"):
        import urllib.request

        request = urllib.request.Request(uri, headers={"Accept": "application/yaml, */*"})
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            data: bytes = response.read(limit + 1)
        if len(data) > limit:
            raise _TooLarge(len(data), limit)
        return data
    raise ValueError(f"unsupported URL scheme {scheme!r} (use a path, file:, http: or https:)")


class _TooLarge(ValueError):
    def __init__(self, size: int | None, limit: int) -> None:
        self.size = size
        if size is None:  # an endless stream (a device, a pipe)
            super().__init__(f"it holds more than the limit of {limit} bytes")
        else:
            super().__init__(f"{size} bytes is more than the limit of {limit} bytes")


def read(uri: str, *, fetch: Fetch | None, limit: int, what: str) -> bytes:
    """Bytes of ``uri``; one DocumentError naming ``what`` and the URI when it cannot be read."""
    try:
        data = default_fetch(uri, limit) if fetch is None else fetch(uri)
    except DocumentError:
        raise
    except _TooLarge as exc:
        endless = "a file, not a device or a stream" if exc.size is None else None
        raise DocumentError(
            f"{what} is too large",
            where=display(uri),
            why=str(exc),
            hint=f"pass the {what} itself ({endless})" if endless else "split the document",
        ) from None
    except FileNotFoundError:
        raise DocumentError(
            f"{what} not found", where=display(uri), hint="check the path or URL"
        ) from None
    except (OSError, ValueError) as exc:
        why = getattr(exc, "reason", None) or exc.strerror if isinstance(exc, OSError) else str(exc)
        raise DocumentError(
            f"cannot read {what}", where=display(uri), why=str(why or exc)
        ) from None
    if len(data) > limit:
        raise DocumentError(
            f"{what} is too large",
            where=display(uri),
            why=f"{len(data)} bytes is more than the limit of {limit} bytes",
        )
    return data
