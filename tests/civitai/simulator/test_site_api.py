"""The Site API over loopback: model versions of every role and family with the real shapes,
the mini endpoint's ``canGenerate``, the model search, and the site's error bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from tests.civitai.simulator.support import RunningSimulator, request
from weft.civitai.simulator import DEFAULT_CATALOG, Catalog, SimulatorConfig, run_simulator

VERSION_FIELDS = {
    "id", "modelId", "name", "baseModel", "baseModelType", "air", "status", "nsfwLevel",
    "createdAt", "updatedAt", "publishedAt", "trainedWords", "description", "uploadType",
    "usageControl", "stats", "model", "files", "images", "downloadUrl",
}  # fmt: skip
FILE_FIELDS = {"id", "sizeKB", "name", "type", "metadata", "hashes", "primary", "downloadUrl",
               "pickleScanResult", "virusScanResult", "scannedAt"}  # fmt: skip


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(SimulatorConfig.fast()) as running:
        yield running


@pytest.mark.parametrize(
    ("version", "air", "model_type"),
    [
        (128713, "urn:air:sd1:checkpoint:civitai:4384@128713", "Checkpoint"),
        (290640, "urn:air:sdxl:checkpoint:civitai:257749@290640", "Checkpoint"),
        (889818, "urn:air:sdxl:checkpoint:civitai:795765@889818", "Checkpoint"),
        (1190596, "urn:air:sdxl:checkpoint:civitai:833294@1190596", "Checkpoint"),
        (691639, "urn:air:flux1:checkpoint:civitai:618692@691639", "Checkpoint"),
        (2068000, "urn:air:fluxkrea:checkpoint:civitai:618692@2068000", "Checkpoint"),
        (2439067, "urn:air:flux2:checkpoint:civitai:2165902@2439067", "Checkpoint"),
        (2612557, "urn:air:flux2:checkpoint:civitai:2322332@2612557", "Checkpoint"),
        (9208, "urn:air:sd1:embedding:civitai:7808@9208", "TextualInversion"),
        (1013, "urn:air:sd1:lycoris:civitai:513@1013", "LoCon"),
        (1023, "urn:air:sdxl:dora:civitai:523@1023", "DoRA"),
        (1021, "urn:air:sdxl:vae:civitai:521@1021", "VAE"),
        (1031, "urn:air:sdxl:lora:civitai:531@1031", "LORA"),
        (1054, "urn:air:sdxl:controlnet:civitai:554@1054", "Controlnet"),
        (1055, "urn:air:other:upscaler:civitai:555@1055", "Upscaler"),
        (1053, "urn:air:wanvideo14b_t2v:checkpoint:civitai:553@1053", "Checkpoint"),
    ],
)
async def test_model_version_has_the_real_shape(
    sim: RunningSimulator, version: int, air: str, model_type: str
) -> None:
    answer = await request(sim, "GET", f"/api/v1/model-versions/{version}", token=None)
    assert answer.status == 200 and answer.headers["Cache-Control"] == "public, s-maxage=300"
    body = answer.json
    assert set(body) >= VERSION_FIELDS
    assert (body["air"], body["model"]["type"], body["id"]) == (air, model_type, version)
    assert set(body["model"]) >= {"name", "type", "nsfw", "poi"}
    assert all(set(f) >= FILE_FIELDS for f in body["files"])
    assert body["files"][0]["primary"] is True
    assert len(body["images"]) <= 10


async def test_linked_vae_trained_words_and_previews(sim: RunningSimulator) -> None:
    checkpoint = (await request(sim, "GET", "/api/v1/model-versions/1002")).json
    assert [(f["type"], f["primary"]) for f in checkpoint["files"]] == [("Model", True),
                                                                       ("VAE", False)]  # fmt: skip
    lora = (await request(sim, "GET", "/api/v1/model-versions/1007")).json
    assert lora["trainedWords"] == ["papercut"]
    preview = urlsplit(lora["images"][0]["url"]).path
    image = await request(sim, "GET", preview, token=None)
    assert image.status == 200 and image.headers["Content-Type"] == "image/jpeg"
    with_token = await request(sim, "GET", "/api/v1/model-versions/1002")
    assert with_token.headers["Cache-Control"] != "public, s-maxage=300"
    bad_token = await request(sim, "GET", "/api/v1/model-versions/1002", token="nope")
    assert bad_token.status == 200  # public: an unknown token is anonymous


@pytest.mark.parametrize(
    ("path_id", "status", "error"),
    [
        ("abc", 400, "Invalid id"),
        ("²", 400, "Invalid id"),
        ("١٢", 400, "Invalid id"),
        ("-5", 400, "Invalid id"),
        ("12.5", 400, "Invalid id"),
        ("0", 400, "Missing modelVersionId"),
        ("1008", 404, "Model not found"),
        ("424242", 404, "Model not found"),
        ("99999999999999", 404, "Model not found"),
    ],
)
async def test_model_version_errors(
    sim: RunningSimulator, path_id: str, status: int, error: str
) -> None:
    answer = await request(sim, "GET", f"/api/v1/model-versions/{path_id}", token=None)
    assert (answer.status, answer.json) == (status, {"error": error})


@pytest.mark.parametrize(
    ("version", "can_generate"),
    [(1002, True), (128713, True), (1007, True), (9208, True), (1029, False), (1026, False),
     (1051, False), (1052, False), (1054, False), (1018, False), (691639, True), (1043, False),
     (2612557, True)],
)  # fmt: skip
async def test_mini_says_what_can_be_generated(
    sim: RunningSimulator, version: int, can_generate: bool
) -> None:
    answer = await request(sim, "GET", f"/api/v1/model-versions/mini/{version}", token=None)
    assert answer.status == 200
    mini = answer.json
    assert mini["canGenerate"] is can_generate
    assert {"air", "baseModel", "fileType", "requireAuth", "additionalResourceCharge",
            "versionName", "modelName", "hashes", "downloadUrls"} <= set(mini)  # fmt: skip
    assert mini["air"] == Catalog().entries[version].air


async def test_mini_errors_and_resource_charge(sim: RunningSimulator) -> None:
    charged = (await request(sim, "GET", "/api/v1/model-versions/mini/1038")).json
    assert charged["additionalResourceCharge"] is True
    for path_id, status in (("2147483648", 400), ("x", 400), ("1008", 404), ("4242", 404)):
        answer = await request(sim, "GET", f"/api/v1/model-versions/mini/{path_id}")
        assert answer.status == status and set(answer.json) == {"error"}


async def test_model_search_filters_and_cursor_pages(sim: RunningSimulator) -> None:
    loras = await request(sim, "GET", "/api/v1/models?types=LORA&baseModels=SDXL 1.0", token=None)
    assert loras.status == 200
    names = {m["name"] for m in loras.json["items"]}
    assert names == {"Paper Cut Style", "Heavy Detail XL"}
    assert all("air" not in v for m in loras.json["items"] for v in m["modelVersions"])
    assert loras.json["items"][0]["modelVersions"][0]["baseModel"] == "SDXL 1.0"
    several = await request(sim, "GET", "/api/v1/models?types=LORA,LoCon&types=DoRA")
    assert {m["type"] for m in several.json["items"]} == {"LORA", "LoCon", "DoRA"}
    found = await request(sim, "GET", "/api/v1/models?query=harbor")
    assert {m["name"] for m in found.json["items"]} >= {"Harbor XL", "Harbor XL Lightning"}
    generating = await request(
        sim, "GET", "/api/v1/models?supportsGeneration=true&types=Checkpoint"
    )
    assert "Last Week Auction XL" not in {m["name"] for m in generating.json["items"]}
    assert "Velvet Night XL" not in {m["name"] for m in generating.json["items"]}
    mature = await request(sim, "GET", "/api/v1/models?nsfw=true&types=Checkpoint")
    assert "Velvet Night XL" in {m["name"] for m in mature.json["items"]}
    # cursor pages cover every model once
    seen: list[int] = []
    path = "/api/v1/models?limit=7&nsfw=true"
    while True:
        page = await request(sim, "GET", path, token=None)
        seen += [m["id"] for m in page.json["items"]]
        cursor = page.json["metadata"].get("nextCursor")
        if cursor is None:
            break
        path = "/api/v1/models?limit=7&nsfw=true&cursor=" + cursor
    published = {e.model_id for e in DEFAULT_CATALOG if e.published}
    assert sorted(seen, reverse=True) == seen and set(seen) == published
    assert len(seen) == len(set(seen))
    numbered = await request(sim, "GET", "/api/v1/models?limit=5&page=2")
    assert numbered.json["metadata"]["currentPage"] == 2
    assert numbered.json["metadata"]["pageSize"] == 5


@pytest.mark.parametrize(
    ("query", "status"),
    [("limit=101", 400), ("types=Teapot", 400), ("baseModels=SD 9", 400), ("nsfw=yes", 400),
     ("page=20&limit=100", 429), ("page=2&query=x", 400), ("cursor=abc", 400),
     ("favorites=true", 401), ("ids=1,x", 400)],
)  # fmt: skip
async def test_model_search_errors(sim: RunningSimulator, query: str, status: int) -> None:
    answer = await request(sim, "GET", f"/api/v1/models?{query}", token=None)
    assert answer.status == status and "error" in answer.json


async def test_get_model(sim: RunningSimulator) -> None:
    flux = await request(sim, "GET", "/api/v1/models/618692")
    assert {v["id"] for v in flux.json["modelVersions"]} == {691639, 699279, 2068000}
    for path_id, status in (("999", 404), ("0", 400), ("2147483648", 400), ("x", 400)):
        answer = await request(sim, "GET", f"/api/v1/models/{path_id}")
        assert answer.status == status and "error" in answer.json
    missing = await request(sim, "GET", "/api/v1/models/999")
    assert missing.json == {"error": "No model with id 999"}


def test_catalog_is_queryable_data() -> None:
    catalog = Catalog()
    sdxl_loras = catalog.find(role="lora", ecosystem="sdxl", can_generate=True)
    assert {e.base_model for e in sdxl_loras} == {"SDXL 1.0", "Pony", "Illustrious", "NoobAI"}
    assert {e.type_segment for e in sdxl_loras} == {"lora", "lycoris", "dora"}
    defaults = {128713, 128078, 290640, 889818, 1190596, 691639, 2068000, 2439067}
    assert defaults <= {e.version_id for e in DEFAULT_CATALOG if e.real}
    distilled = {e.version_id for e in DEFAULT_CATALOG if e.distilled}
    assert {1016, 1017, 1025, 1026, 1027, 1028} == distilled
    assert catalog.published_version(1008) is None and catalog.entries[1008].published is False
    assert all(e.trained_words for e in catalog.find(role="embedding"))
