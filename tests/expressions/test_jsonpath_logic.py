"""The compiled logical-expression fast path agrees with the RFC 9535 library everywhere."""

from __future__ import annotations

from typing import Any

import jsonpath_rfc9535
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weft.expressions import jsonpath_logical_rewrite
from weft.expressions.jsonpath_logic import compile_logical

BODY = {"status": "processing", "n": 3, "f": 2.5, "ok": True, "z": None, "a": [1, {"b": "x"}]}


def library(text: str, value: Any) -> bool:
    rewrite = jsonpath_logical_rewrite(text)
    assert rewrite is not None, text
    return bool(jsonpath_rfc9535.compile(rewrite).find([value]).values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.status == 'processing'", True),
        ("$.status == 'Processing'", False),  # RFC 9535 compares strings exactly
        ("$.status == 'failed' || $.status == 'processing'", True),
        ("$.n == 3 && $.f > 2", True),
        ("$.n == 3.0", True),  # numbers compare by value
        ("$.ok == true", True),
        ("$.ok == 1", False),  # no boolean/number mixing
        ("$.z == null", True),
        ("$.missing == null", False),  # nothing is not null
        ("$.missing == $.other", True),  # nothing == nothing
        ("$.missing < 1", False),
        ("$.missing != 1", True),
        ("$.a[0] == 1 && $.a[-1].b == 'x'", True),
        ("$['a'][1][\"b\"] == 'x'", True),
        ("$.a[5] == 1", False),
        ("$.status && $.n", True),  # existence tests
        ("!$.missing", True),
        ("!($.n < 3)", True),
        ("$.status < 'q' && 'p' < $.status", True),  # strings order by code point
        ("$.a == $.a", True),  # structured values compare deeply
        ("$.status == '\\u0070rocessing'", True),
    ],
)
def test_table(text: str, expected: bool) -> None:
    test = compile_logical(text)
    assert test is not None, text
    assert test(BODY) is expected
    assert library(text, BODY) is expected


@pytest.mark.parametrize("value", [False, 0, ""])
def test_root_existence_is_true_for_any_value(value: Any) -> None:
    """RFC 9535 2.3.5.2.1: an existence test is true when the query selects a node, and `$`
    always selects the context. (jsonpath-rfc9535 answers false for falsy scalars here.)"""
    test = compile_logical("($)")
    assert test is not None and test(value) is True


@pytest.mark.parametrize(
    "text",
    ["$.a[*] == 1", "length($.a) == 2", "$..b == 'x'", "$.a[?@ == 1]", "'x'", "$.a = 1", ""],
)
def test_outside_the_subset_is_left_to_the_library(text: str) -> None:
    assert compile_logical(text) is None


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 2.0, -1.5]),
    st.sampled_from(["a", "b", "A", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    ),
    max_leaves=8,
)
queries = st.lists(
    st.one_of(st.sampled_from([".a", ".b", "['c']"]), st.integers(-2, 2).map(lambda i: f"[{i}]")),
    max_size=3,
).map(lambda segs: "$" + "".join(segs))
literals = st.sampled_from(["null", "true", "false", "0", "1", "-2", "0.5", "'a'", "'b'", "''"])
comparables = st.one_of(queries, literals)
comparisons = st.tuples(
    comparables, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), comparables
).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
# existence tests on `$` alone are left out: the library gets them wrong for falsy scalars
member_queries = queries.filter(lambda q: q != "$")
atoms = st.one_of(comparisons, member_queries, member_queries.map(lambda q: f"!{q}"))
expressions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"!({e})"),
    ),
    max_leaves=4,
)


@settings(max_examples=400, deadline=None)
@given(expressions, values)
def test_agrees_with_the_library(text: str, value: Any) -> None:
    if jsonpath_logical_rewrite(text) is None:
        return  # not valid RFC 9535 (e.g. a literal compared with a literal): never compiled
    test = compile_logical(text)
    assert test is not None, text
    assert test(value) is library(text, value), (text, value)
