"""Parameter serialization per OpenAPI style/explode, and body encoding."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weft.expressions import set_pointer
from weft.openapi.bodies import encode_body, media_type, parse_body, replace_xpath
from weft.openapi.serialize import (
    compile_path,
    expand_parts,
    expand_path,
    path_variables,
    pct,
    serialize_cookie,
    serialize_header,
    serialize_path,
    serialize_query,
    to_text,
)

ARR = ["blue", "black", "brown"]
OBJ = {"R": 100, "G": 200, "B": 150}


@pytest.mark.parametrize(
    ("style", "explode", "value", "expected"),
    [
        ("simple", False, "a b", "a%20b"),
        ("simple", False, ARR, "blue,black,brown"),
        ("simple", False, OBJ, "R,100,G,200,B,150"),
        ("simple", True, OBJ, "R=100,G=200,B=150"),
        ("label", False, ARR, ".blue,black,brown"),
        ("label", True, ARR, ".blue.black.brown"),
        ("label", True, OBJ, ".R=100.G=200.B=150"),
        ("matrix", False, "blue", ";color=blue"),
        ("matrix", False, ARR, ";color=blue,black,brown"),
        ("matrix", True, ARR, ";color=blue;color=black;color=brown"),
        ("matrix", True, OBJ, ";R=100;G=200;B=150"),
        ("simple", False, "x/y?z", "x%2Fy%3Fz"),
    ],
)
def test_path_styles(style: str, explode: bool, value: object, expected: str) -> None:
    assert serialize_path("color", value, style, explode) == expected


@pytest.mark.parametrize(
    ("style", "explode", "value", "expected"),
    [
        ("form", True, "blue", ["color=blue"]),
        ("form", True, ARR, ["color=blue", "color=black", "color=brown"]),
        ("form", False, ARR, ["color=blue,black,brown"]),
        ("form", True, OBJ, ["R=100", "G=200", "B=150"]),
        ("form", False, OBJ, ["color=R,100,G,200,B,150"]),
        ("spaceDelimited", False, ARR, ["color=blue%20black%20brown"]),
        ("pipeDelimited", False, ARR, ["color=blue|black|brown"]),
        ("deepObject", True, OBJ, ["color[R]=100", "color[G]=200", "color[B]=150"]),
        ("form", True, True, ["color=true"]),
        ("form", True, "a&b=c", ["color=a%26b%3Dc"]),
    ],
)
def test_query_styles(style: str, explode: bool, value: object, expected: list[str]) -> None:
    assert serialize_query("color", value, style, explode) == expected


def test_header_and_cookie() -> None:
    assert serialize_header(ARR) == "blue,black,brown"
    assert serialize_header(OBJ, explode=True) == "R=100,G=200,B=150"
    assert serialize_cookie("id", "a b") == ["id=a%20b"]
    assert serialize_cookie("c", ARR, explode=False) == ["c=blue,black,brown"]


def test_bodies() -> None:
    data, ct = encode_body({"a": 1, "b": [1, 2]}, None)
    assert data == b'{"a":1,"b":[1,2]}' and ct == "application/json"
    data, _ = encode_body({"q": "a b", "t": ["x", "y"]}, "application/x-www-form-urlencoded")
    assert data == b"q=a%20b&t=x&t=y"
    data, ct = encode_body({"f": b"\x00\x01", "n": "v"}, "multipart/form-data")
    assert ct is not None and ct.startswith("multipart/form-data; boundary=")
    boundary = ct.split("=", 1)[1]
    assert data.count(boundary.encode()) == 3 and b'name="n"\r\n\r\nv' in data
    assert encode_body(b"raw", "application/octet-stream") == (b"raw", "application/octet-stream")
    assert set_pointer({"a": {"b": 1}}, "/a/c", 2) == {"a": {"b": 1, "c": 2}}
    assert set_pointer({"l": [1]}, "/l/-", 2) == {"l": [1, 2]}
    xml = replace_xpath("<o><id>0</id><p k='1'/></o>", "/o/id", 42)
    assert "<id>42</id>" in xml
    assert 'k="9"' in replace_xpath(xml, "/o/p/@k", 9)


def _expand_reference(template: str, values: dict[str, str]) -> str:
    """The original scan of ``expand_path``: ``{name}`` replaced, unknown names kept."""
    out: list[str] = []
    i = 0
    while i < len(template):
        start = template.find("{", i)
        if start < 0:
            out.append(template[i:])
            break
        end = template.find("}", start)
        if end < 0:
            out.append(template[i:])
            break
        out.append(template[i:start])
        out.append(values.get(template[start + 1 : end], template[start : end + 1]))
        i = end + 1
    return "".join(out)


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet="ab{}/x", max_size=14),
    st.dictionaries(st.sampled_from(["a", "b", "x", "ab", "a{b", "", "/"]), st.text(max_size=3)),
)
def test_compiled_path_templates_expand_like_the_scan(
    template: str, values: dict[str, str]
) -> None:
    expected = _expand_reference(template, values)
    assert expand_parts(compile_path(template), values) == expected
    assert expand_path(template, values) == expected


def test_path_variables_and_compiled_parts() -> None:
    parts = compile_path("/v2/workflows/{workflowId}/steps/{n}")
    assert parts == ("/v2/workflows/", "workflowId", "/steps/", "n", "")
    assert path_variables("/v2/workflows/{workflowId}/steps/{n}") == ["workflowId", "n"]
    assert expand_parts(parts, {"workflowId": "wf%201"}) == "/v2/workflows/wf%201/steps/{n}"
    assert compile_path("/plain") == ("/plain",)


@given(st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.floats(allow_nan=False)))
def test_percent_encoding_is_the_same_cached_or_not(value: object) -> None:
    expected = quote(to_text(value), safe="-._~")
    assert pct(value) == expected
    assert pct(value) == expected  # a second time: from the cache
    assert serialize_path("p", value) == expected


def test_header_values_and_media_types() -> None:
    assert serialize_header("Bearer a\r\nb") == "Bearer a  b"
    assert serialize_header(["a", 1, True]) == "a,1,true"
    assert serialize_header({"k": "v"}, explode=True) == "k=v"
    for _ in range(2):  # parsed, then from the cache
        assert media_type("Application/JSON; charset=utf-8") == "application/json"
        assert parse_body(b'{"a": 1}', "application/json; charset=utf-8") == {"a": 1}
        assert parse_body(b"<a/>", "text/xml") == "<a/>"
    assert media_type(None) == "" and media_type("") == ""
