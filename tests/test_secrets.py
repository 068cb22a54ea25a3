"""SecretSet: every spelling a secret travels in is masked (raw, percent-encoded, base64 at any
alignment, JSON-escaped), and the JSON-text pre-check never changes what is masked."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, quote_plus

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from weft.secrets import MASK, SecretSet


def _walk(secrets: SecretSet, value: Any) -> Any:
    """The reference: mask every string of ``value`` (keys too), container by container."""
    if isinstance(value, str):
        return secrets.mask_str(value)
    if isinstance(value, dict):
        return {
            (secrets.mask_str(k) if isinstance(k, str) else k): _walk(secrets, v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_walk(secrets, v) for v in value]
    return value


_text = st.text(alphabet=st.sampled_from(list('ab"\\\n é€-1 /+=%')), max_size=9)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@given(st.lists(_text | st.integers(), max_size=3), _json)
def test_mask_with_the_pre_check_equals_the_plain_walk(secrets: list[Any], value: Any) -> None:
    s = SecretSet()
    for secret in secrets:
        s.add(secret)
    assert s.mask(value) == _walk(s, value)


def test_a_secret_deep_inside_is_masked_and_a_clean_value_is_not_copied() -> None:
    s = SecretSet(["Bearer tok-ABCDEFGH"])
    value = {"a": [{"b": "url?key=tok-ABCDEFGH"}], "n": 1}
    assert s.mask(value) == {"a": [{"b": f"url?key={MASK}"}], "n": 1}
    clean = {"a": [{"b": "nothing here"}], "n": 1}
    assert s.mask(clean) is clean
    quoted = SecretSet(['pa"ss\\word'])
    assert quoted.mask({"k": 'pa"ss\\word'}) == {"k": MASK}
    assert quoted.mask({'pa"ss\\word': 1}) == {MASK: 1}


# -- every spelling -------------------------------------------------------------------------------
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


def spellings_of(secret: str) -> dict[str, str]:
    """How a secret reaches a server and comes back in its answer (written independently of
    weft.secrets): the encodings the end-to-end tests search every output for too."""
    raw = secret.encode()
    b64 = base64.b64encode(raw).decode()
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
        "json": json.dumps(secret)[1:-1],
        "json-ascii": json.dumps(secret, ensure_ascii=True)[1:-1],
        "orjson": orjson.dumps(secret).decode()[1:-1],
        "json-slash": json.dumps(secret)[1:-1].replace("/", "\\/"),
    }
    for user in ("u", "us", "usr", "someone@example.com"):
        forms[f"basic-{user}"] = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return forms


_secret_chars = st.sampled_from(list("abcXYZ0189+/=%&?# \"\\'\n\té€😀-_.~:@<>"))
_secrets = st.text(alphabet=_secret_chars, min_size=6, max_size=24).filter(lambda t: t.strip())
_around = st.text(alphabet=st.sampled_from(list('ab =&?:/"{}')), max_size=6)


@given(_secrets, _around, _around)
def test_every_spelling_of_a_secret_inside_text_is_masked(
    secret: str, before: str, after: str
) -> None:
    s = SecretSet([secret])
    for name, form in spellings_of(secret).items():
        if name.startswith("basic-"):
            # the password's spelling inside base64(user:password): the characters that depend
            # on its bytes alone are gone (at most the 2 characters at each edge that also hold
            # the user's or the padding's bits remain)
            masked = s.mask_str(before + form + after)
            assert form not in masked, name
            assert MASK in masked, name
            continue
        masked = s.mask_str(before + form + after)
        assert form not in masked, (name, form, masked)
        assert s.mask_str(form) == MASK, name


@pytest.mark.parametrize(
    "header",
    ["Bearer tok_9f8e7d6c+b/a==", "Basic dXNlcjpzM2NyZXQtcGFzcw==", "token abc.def.ghi"],
)
def test_a_header_credential_is_masked_whole_bare_and_decoded(header: str) -> None:
    s = SecretSet([header])
    scheme, _, credential = header.partition(" ")
    assert s.mask_str(f"got {header}!") == f"got {MASK}!"
    assert credential not in s.mask_str(f"echo: {credential}")
    assert quote(credential, safe="") not in s.mask_str(f"?k={quote(credential, safe='')}")
    if scheme == "Basic":
        # what a server that decodes the credential echoes: user:password, and the password
        assert s.mask_str("user:s3cret-pass") == MASK
        assert "s3cret-pass" not in s.mask_str("password 's3cret-pass' is wrong")


def test_short_values_are_masked_only_whole() -> None:
    s = SecretSet(["abc", 42])
    assert s.mask_str("abc") == MASK
    assert s.mask_str("42") == MASK
    assert s.mask_str("abcdef 42") == "abcdef 42"  # "abc"/"42" inside prose stay
    assert s.mask({"n": "YWJj"}) == {"n": MASK}  # a whole derived spelling is masked too


def test_undecodable_command_line_bytes_are_a_secret_like_any_other() -> None:
    secret = "pw-\udcff\udcfe-long"  # what sys.argv holds for bytes that are not UTF-8
    s = SecretSet([secret])
    assert s.mask_str(f"x {secret} y") == f"x {MASK} y"
    assert s.mask_str("?p=pw-%FF%FE-long") == f"?p={MASK}"
    lone = SecretSet(["pw-\ud800-long"])  # any other lone surrogate
    assert lone.mask_str("pw-\ud800-long!") == f"{MASK}!"
    assert lone.mask({"k": ["pw-\ud800-long"]}) == {"k": [MASK]}


def test_many_secrets_stay_cheap_to_add() -> None:
    s = SecretSet()
    for i in range(3000):  # a loop whose sensitive header changes on every iteration
        s.add(f"Bearer rotating-token-{i:06d}")
    assert s.is_secret("rotating-token-002999")
    assert s.mask_str("x rotating-token-002999 y") == f"x {MASK} y"


def test_a_body_that_is_not_json_is_masked_as_the_text_sinks_write() -> None:
    s = SecretSet(["pw-+/=secret"])
    body = b'{}{"echo": "POST /things?api_key=pw-%2B%2F%3Dsecret"}'
    assert s.mask({"all": body}) == {"all": '{}{"echo": "POST /things?api_key=***"}'}
    clean = {"all": b"\x89PNG"}
    assert s.mask(clean)["all"] == b"\x89PNG"  # nothing secret: left as it is
