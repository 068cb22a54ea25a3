"""SecretSet.mask: the JSON-text pre-check never changes what is masked (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from weft.secrets import MASK, SecretSet


def _walk(secrets: SecretSet, value: Any) -> Any:
    """The reference: mask every string of ``value``, container by container."""
    if isinstance(value, str):
        return secrets.mask_str(value)
    if isinstance(value, dict):
        return {k: _walk(secrets, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(secrets, v) for v in value]
    return value


_text = st.text(alphabet=st.sampled_from(list('ab"\\\n é€-1 ')), max_size=9)
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
