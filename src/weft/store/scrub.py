"""A last line of defence against secrets reaching the store.

The engine masks secrets before recording; this scrub runs on every JSON document the store
writes anyway. It replaces the value of any header-like entry whose name is a credential
(``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, ``X-Api-Key`` and any
``*-Key`` / ``*-Token`` / ``*-Secret`` header, except ``Idempotency-Key`` which resume needs) with
``"***"``, in the three shapes headers take: mapping keys, ``[name, value]`` pairs and
``{"name": ..., "value": ...}`` objects. Whole values that are credentials
(``Bearer <token>``, ``Basic <base64>``) are masked wherever they appear; prose is not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

_SECRET_NAME = re.compile(
    r"^(?:authorization|proxy-authorization|cookie|set-cookie|apikey|api_key|api-key"
    r"|x-api-key|access_token|[a-z0-9]+(?:-[a-z0-9]+)*-(?:key|token|secret|password))$",
    re.IGNORECASE,
)
_NOT_SECRET = frozenset({"idempotency-key"})
# a whole value that is an Authorization credential (not prose that starts with "Basic ...")
_SECRET_VALUE = re.compile(
    r"^\s*(?:(?:bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{16,}|digest\s+username=.*)\s*$",
    re.IGNORECASE,
)
# A quick test on the lower-cased serialised JSON: it matches wherever `scrub` could change
# something (a credential-named key or pair whose value is not already the mask, a
# {"name", "value"} header object, a credential-looking string), so no match means the document
# is already clean. It may match more than that (then the full walk runs); never less.
_NAME = (
    rb"(?:authorization|proxy-authorization|cookie|set-cookie|apikey|api_key|api-key|x-api-key"
    rb'|access_token|(?!idempotency-key")[a-z0-9-]*-(?:key|token|secret|password))'
)
_SPACE = rb"(?:\s|\\[tnrfb])"
_UNMASKED = (
    # the engine's own placeholder for a secret input, {"$weftSecret": name}, is clean too
    re.compile(rb'"' + _NAME + rb'"\s*[:,]\s*(?!"\*\*\*"|\{"\$weftsecret":"[^"]*"\})'),
    re.compile(rb'"name"\s*:\s*"' + _NAME + rb'"'),
    re.compile(
        rb"(?:bearer|basic|token)" + _SPACE + rb"+[a-z0-9._~+/=-]{16}"
        rb"|digest" + _SPACE + rb"+username="
    ),
)


def is_secret_name(name: str) -> bool:
    """Whether a header (or header-like key) named ``name`` carries a credential."""
    return name.lower() not in _NOT_SECRET and bool(_SECRET_NAME.match(name))


# Every match of _UNMASKED[0] and _UNMASKED[1] holds a quoted name containing one of the name
# hints; every match of _UNMASKED[2] starts with a value hint. Substring searches find them far
# faster than the patterns scanning every position (one pass per distinct hint: a large body
# without any costs nine `find`s), so the patterns run only where a hint occurs.
_NAME_HINTS = (b"authorization", b"cookie", b"key", b"token", b"secret", b"password")
_VALUE_HINTS = (b"bearer", b"basic", b"token", b"digest")
_HINTS = tuple(dict.fromkeys(_NAME_HINTS + _VALUE_HINTS))


def needs_scrub(serialised: bytes) -> bool:
    """A cheap pre-check: ``False`` means :func:`scrub` would change nothing.

    Same answer as searching every pattern of ``_UNMASKED`` over the lower-cased text.
    """
    low = serialised.lower()
    named, pair, valued = _UNMASKED
    name_hint = False
    for hint in _HINTS:
        is_name, is_value = hint in _NAME_HINTS, hint in _VALUE_HINTS
        at = low.find(hint)
        while at >= 0:
            if is_value and valued.match(low, at) is not None:  # a match starts with the hint
                return True
            if is_name:
                name_hint = True
                # a match is `"NAME"…` with the hint inside NAME, which holds no quote
                quote = low.rfind(b'"', 0, at)
                if quote >= 0 and named.match(low, quote) is not None:
                    return True
            at = low.find(hint, at + 1)
    # `"name": "NAME"` holds a name hint too
    return name_hint and pair.search(low) is not None


def scrub(value: Any) -> Any:
    """A copy of ``value`` with credential headers and credential-looking strings masked."""
    if isinstance(value, Mapping):
        name = value.get("name")
        named_secret = isinstance(name, str) and "value" in value and is_secret_name(name)
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if (isinstance(key, str) and is_secret_name(key)) or (named_secret and key == "value"):
                out[key] = MASK
            else:
                out[key] = scrub(item)
        return out
    if isinstance(value, list | tuple):
        if (
            len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], str)
            and is_secret_name(value[0])
        ):
            return [value[0], MASK]
        return [scrub(item) for item in value]
    if isinstance(value, str) and _SECRET_VALUE.match(value):
        return MASK
    return value
