from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.conftest import shared_path
from tests.document.helpers import GET_PET, PETS_OPENAPI, arazzo, write
from weft.document import load
from weft.document import model as m
from weft.errors import DocumentError


def test_seed_loads_with_positions_and_sources(seed_document: Path) -> None:
    loaded = load(str(seed_document))
    doc = loaded.document
    assert doc.arazzo == "1.0.1" and doc.version_family == "1.0"
    assert len(doc.content_hash) == 64 and doc.uri == str(seed_document)
    assert set(loaded.sources) == {"civitaiSiteApi", "civitaiOrchestrationApi"}
    assert loaded.sources["civitaiSiteApi"].url.endswith("civitai-site-api-openapi.yml")
    steps = doc.workflows[0].steps
    poll = steps[2]
    assert poll.step_id == "pollWorkflow"
    assert poll.loc.line == 94 and poll.at("operationId").line == 98
    assert poll.parameters[0].at("value").line == 102
    crit = poll.on_success[0].criteria[0]  # type: ignore[index, union-attr]
    assert crit.kind == "jsonpath" and crit.context == "$response.body"
    assert crit.at("condition").line == 116
    op = loaded.resolve_operation(poll)
    assert (op.source, op.method, op.path) == (
        "civitaiOrchestrationApi",
        "GET",
        "/v2/consumer/workflows/{workflowId}",
    )
    assert [p.name for p in op.parameters] == ["workflowId"]
    assert op.servers[0].url == "https://orchestration.civitai.com"
    assert loaded.resolve_workflow("model-version-to-generation")[1] is doc.workflows[0]


def test_operation_forms_resolve(tmp_path: Path) -> None:
    doc = arazzo([GET_PET])
    path = write(tmp_path, doc)
    loaded = load(str(path))
    step = loaded.document.workflows[0].steps[0]
    for form in ("getPet", "$sourceDescriptions.pets.getPet"):
        step.operation_id = form
        assert loaded.resolve_operation(step).operation_id == "getPet"
    step.operation_id = None
    step.operation_path = "{$sourceDescriptions.pets.url}#/paths/~1pets~1{petId}/get"
    op = loaded.resolve_operation(step)
    assert op.method == "GET" and {p.name for p in op.parameters} == {"petId", "verbose"}
    step.operation_path = "{$sourceDescriptions.pets.url}#/paths/~1pets/delete"
    with pytest.raises(DocumentError, match="no operation DELETE /pets"):
        loaded.resolve_operation(step)


def test_ambiguous_operation_id_lists_candidates(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(PETS_OPENAPI))
    doc = arazzo([GET_PET])
    doc["sourceDescriptions"].append({"name": "other", "url": "other.yaml"})
    loaded = load(str(write(tmp_path, doc)))
    with pytest.raises(DocumentError) as info:
        loaded.resolve_operation(loaded.document.workflows[0].steps[0])
    text = str(info.value)
    assert "ambiguous" in text
    assert "$sourceDescriptions.pets.getPet" in text and "$sourceDescriptions.other.getPet" in text


def test_injected_fetch_and_self_base(tmp_path: Path) -> None:
    doc = arazzo([GET_PET])
    doc["arazzo"] = "1.1.0"
    doc["$self"] = "https://example.test/flows/main.arazzo.yaml"
    doc["sourceDescriptions"][0]["url"] = "../apis/pets.yaml"
    files = {
        "https://example.test/apis/pets.yaml": yaml.safe_dump(PETS_OPENAPI).encode(),
        "http://127.0.0.1:1/main.yaml": yaml.safe_dump(doc).encode(),
    }
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        if url not in files:
            raise FileNotFoundError(url)
        return files[url]

    loaded = load("http://127.0.0.1:1/main.yaml", fetch=fetch)
    assert fetched == ["http://127.0.0.1:1/main.yaml", "https://example.test/apis/pets.yaml"]
    assert loaded.document.base_uri == "https://example.test/flows/main.arazzo.yaml"
    assert loaded.sources["pets"].url == "https://example.test/apis/pets.yaml"


def test_arazzo_source_and_cross_document_workflow(tmp_path: Path) -> None:
    child = arazzo([GET_PET])
    child["workflows"][0]["workflowId"] = "child"
    write(tmp_path, child, name="child.arazzo.yaml")
    parent = arazzo([{"stepId": "call", "workflowId": "$sourceDescriptions.kid.child"}])
    parent["sourceDescriptions"].append(
        {"name": "kid", "url": "child.arazzo.yaml", "type": "arazzo"}
    )
    loaded = load(str(write(tmp_path, parent)))
    sub, wf = loaded.resolve_workflow("$sourceDescriptions.kid.child")
    assert wf.workflow_id == "child" and sub.document.uri.endswith("child.arazzo.yaml")
    assert loaded.sources["kid"].arazzo is sub


def test_model_is_filled_for_1_1(tmp_path: Path) -> None:
    step = copy.deepcopy(GET_PET)
    step["parameters"].append({"reference": "$components.parameters.verbose", "value": True})
    step["outputs"]["picked"] = {
        "context": "$response.body",
        "selector": "$.name",
        "type": {"type": "jsonpath", "version": "rfc9535"},
    }
    step["onFailure"] = [
        {"name": "again", "type": "retry", "retryAfter": 1.5, "retryLimit": 3, "x-note": "n"}
    ]
    step["timeout"] = 1000
    step["successCriteria"].append(
        {
            "context": "$response.body",
            "condition": "$.name",
            "type": {"type": "jsonpath", "version": "rfc9535"},
        }
    )
    doc = arazzo(
        [step],
        components={"parameters": {"verbose": {"name": "verbose", "in": "query", "value": False}}},
    )
    doc["arazzo"] = "1.1.0"
    loaded = load(str(write(tmp_path, doc)))
    s = loaded.document.workflows[0].steps[0]
    assert s.timeout == 1000
    assert isinstance(s.parameters[1], m.ReusableRef) and s.parameters[1].has_value
    assert isinstance(s.outputs["picked"], m.Selector)
    assert isinstance(s.outputs["picked"].type, m.ExpressionType)
    action = s.on_failure[0]  # type: ignore[index]
    assert isinstance(action, m.FailureAction)
    assert (action.retry_after, action.retry_limit, action.extensions) == (1.5, 3, {"x-note": "n"})
    assert s.success_criteria[1].kind == "jsonpath" and s.success_criteria[1].version == "rfc9535"
    assert loaded.document.components.parameters["verbose"].in_ == "query"


def test_examples_load_with_their_sources() -> None:
    folder = shared_path("reference", "arazzo", "examples-1.0")
    loaded = load(str(folder / "pet-coupons.arazzo.yaml"))
    assert loaded.sources["pet-coupons"].openapi is not None
