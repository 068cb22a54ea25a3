"""Searching outputs for secrets in every spelling they can travel in.

:func:`spellings_of` is written independently of :mod:`weft.secrets` (from the encoders
themselves), so a spelling ``SecretSet`` forgets is found here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote, quote_plus

import orjson

BASIC_USERS = ("u", "us", "usr", "someone@example.com")


def _lower_hex(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "%":
            out.append(text[i : i + 3].lower())
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def spellings_of(secret: str, users: Iterable[str] = BASIC_USERS) -> dict[str, str]:
    """How a secret reaches a server and comes back in its answer, by name."""
    raw = secret.encode()
    b64 = base64.b64encode(raw).decode()
    plain_json = json.dumps(secret, ensure_ascii=False)[1:-1]
    forms = {
        "raw": secret,
        "quote": quote(secret, safe=""),
        "quote-default": quote(secret),
        "quote_plus": quote_plus(secret),
        "quote-lower": _lower_hex(quote(secret, safe="")),
        "quote_plus-lower": _lower_hex(quote_plus(secret)),
        "base64": b64,
        "base64-unpadded": b64.rstrip("="),
        "base64url": base64.urlsafe_b64encode(raw).decode(),
        "json": plain_json,
        "json-ascii": json.dumps(secret)[1:-1],
        "orjson": orjson.dumps(secret).decode()[1:-1],
        "json-slash": plain_json.replace("/", "\\/"),
        "json-in-json": json.dumps(plain_json, ensure_ascii=False)[1:-1],
        "repr": repr(secret)[1:-1],
    }
    for user in users:
        forms[f"basic-{user}"] = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return forms


def find_leaks(secrets: Iterable[str], outputs: Mapping[str, bytes]) -> list[str]:
    """``"<output>: <secret> as <spelling>"`` for every spelling of a secret found in an output
    (an empty list: no leak)."""
    found = []
    for secret in secrets:
        for name, form in spellings_of(secret).items():
            needle = form.encode()
            for where, data in outputs.items():
                if needle in data:
                    found.append(f"{where}: {secret!r} as {name} ({form!r})")
    return found


def store_files(store: Path) -> dict[str, bytes]:
    """What a SQLite run store holds: its files' bytes (database, WAL, SHM) and every stored
    value, compressed documents unpacked (``weft.testing.store_contents``)."""
    from weft.testing.store_contents import store_contents

    if not store.exists():
        return {}
    return {store.name: store_contents(store)}
