"""JSON Pointer (RFC 6901): resolution, absent vs null, escaping, set_pointer."""

from __future__ import annotations

import pytest

from weft.expressions import ABSENT, ExpressionError, parse_pointer, resolve_pointer, set_pointer

DOC = {
    "foo": ["bar", "baz"],
    "": 0,
    "a/b": 1,
    "c%d": 2,
    "e^f": 3,
    "g|h": 4,
    "i\\j": 5,
    'k"l': 6,
    " ": 7,
    "m~n": 8,
    "nothing": None,
    "nested": {"list": [{"id": 1}, {"id": 2}]},
}


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        ("", DOC),
        ("/foo", ["bar", "baz"]),
        ("/foo/0", "bar"),
        ("/foo/1", "baz"),
        ("/", 0),
        ("/a~1b", 1),
        ("/c%d", 2),
        ("/e^f", 3),
        ("/g|h", 4),
        ("/i\\j", 5),
        ('/k"l', 6),
        ("/ ", 7),
        ("/m~0n", 8),
        ("/nothing", None),
        ("/nested/list/1/id", 2),
    ],
)
def test_rfc6901_examples_resolve(pointer: str, expected: object) -> None:
    assert resolve_pointer(DOC, pointer) == expected


@pytest.mark.parametrize(
    "pointer",
    [
        "/missing",
        "/foo/2",
        "/foo/-",
        "/foo/01",
        "/foo/-1",
        "/foo/x",
        "/nothing/x",
        "/foo/0/0",
        "/nested/list/0/id/x",
        "no-slash",
        "/bad~2escape",
    ],
)
def test_missing_is_absent_not_null(pointer: str) -> None:
    assert resolve_pointer(DOC, pointer) is ABSENT


def test_null_is_a_value() -> None:
    assert resolve_pointer(DOC, "/nothing") is None
    assert resolve_pointer(None, "") is None


@pytest.mark.parametrize("pointer", ["x", "/a~", "/a~x", "/~"])
def test_parse_pointer_rejects_malformed(pointer: str) -> None:
    with pytest.raises(ExpressionError):
        parse_pointer(pointer)


def test_parse_pointer_unescapes_in_order() -> None:
    names, indexes = parse_pointer("/~01/~10/7/07")
    assert names == ("~1", "/0", "7", "07")
    assert indexes == (None, None, 7, None)


def test_set_pointer_copies_along_the_path_only() -> None:
    original = {"order": {"petId": 1, "tags": ["a"]}, "other": {"x": 1}}
    updated = set_pointer(original, "/order/petId", 42)
    assert updated["order"]["petId"] == 42
    assert original["order"]["petId"] == 1  # not mutated
    assert updated["other"] is original["other"]  # shared


def test_set_pointer_appends_and_creates() -> None:
    assert set_pointer({"a": [1]}, "/a/-", 2) == {"a": [1, 2]}
    assert set_pointer({"a": [1]}, "/a/1", 2) == {"a": [1, 2]}
    assert set_pointer({}, "/x/y", 1) == {"x": {"y": 1}}
    assert set_pointer({}, "/x/0", 1) == {"x": [1]}
    assert set_pointer({"a": 1}, "", "whole") == "whole"
    assert set_pointer({"a/b": 1}, "/a~1b", 2) == {"a/b": 2}


@pytest.mark.parametrize(("doc", "pointer"), [({"a": "text"}, "/a/b"), ({"a": [1]}, "/a/5")])
def test_set_pointer_refuses_impossible_paths(doc: object, pointer: str) -> None:
    with pytest.raises(ExpressionError):
        set_pointer(doc, pointer, 1)
