"""The images of Civitai runs, found from what the store recorded: a run's own folder (its
``out`` label), a batch row's folder under a given root (by the workflow id of its outputs,
when the sidecar names the run), and nothing else — no other run's image, no file outside the
folder, no name of another shape."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reports.support import civitai
from weft.civitai.simulator import SimulatorConfig, start_simulator_thread
from weft.reports import html, saved_images, view_of_stored
from weft.store import open_store


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One generation saved to ``--out`` and a batch of one row saved under a root."""
    tmp = tmp_path_factory.mktemp("gallery")
    store_path = tmp / "runs.db"
    sim = start_simulator_thread(SimulatorConfig.fast())
    try:
        single = civitai(sim.base_url, sim.token, store_path, "--model-version", "128713",
                         "--prompt", "a red fox in snow", "--seed", "11", "--quantity", "2",
                         "--out", str(tmp / "single"))  # fmt: skip
        assert single.exit_code == 0, single.output
        rows = tmp / "rows.jsonl"
        rows.write_text('{"modelVersionId": 128713, "prompt": "a paper boat", "seed": 5}\n')
        batch = civitai(sim.base_url, sim.token, store_path, "--batch", str(rows),
                        "--out", str(tmp / "batch-out"))  # fmt: skip
        assert batch.exit_code == 0, batch.output
    finally:
        sim.stop()
    with open_store(store_path) as store:
        generated = store.list_runs(labels={"kind": "civitai-generate"})
        batched = [s for s in generated if "batch" in s.labels]
        [single] = [s for s in generated if "batch" not in s.labels]
        yield {
            "tmp": tmp,
            "single": store.require_run(single.run_id),
            "row": store.require_run(batched[0].run_id),
        }


def test_a_generation_shows_its_saved_images_with_their_parameters(runs: dict[str, Any]) -> None:
    images = saved_images(runs["single"])
    assert [i.path.parent for i in images] == [(runs["tmp"] / "single").resolve()] * 2
    assert [i.name[:3] for i in images] == ["01-", "02-"]
    first = images[0]
    assert (first.prompt, first.seed, first.cost, first.size) == (
        "a red fox in snow",
        11,
        10,
        "512x512",
    )
    assert first.model == "DreamShaper"
    view = view_of_stored(runs["single"])
    assert [i.name for i in view.images] == [i.name for i in images]
    page = html.run_report(view)
    assert page.count('<figure class="shot"') == 2
    assert page.count('src="data:image/png;base64,') == 2
    assert "<dt>seed</dt><dd>11</dd>" in page and "<dd>10 Buzz</dd>" in page


def test_a_batch_row_is_found_by_its_labels_or_under_a_root(runs: dict[str, Any]) -> None:
    row = runs["row"]
    # a row says where its images went (outRoot) like a single generation
    assert row.labels["outRoot"] == str((runs["tmp"] / "batch-out").resolve())
    [image] = saved_images(row)
    assert image.prompt == "a paper boat" and image.seed == 5
    assert image.path.parent.name == row.result["outputs"]["workflowId"]
    # a row recorded without those labels (an older store) is looked for under a given root
    bare = dataclasses.replace(row, labels={k: row.labels[k] for k in ("batch", "row", "digest")})
    assert saved_images(bare) == []  # no label says where: only a given root does
    [found] = saved_images(bare, [runs["tmp"] / "batch-out"])
    assert found.path == image.path


def test_only_the_runs_own_images_of_the_right_shape_are_listed(
    runs: dict[str, Any], tmp_path: Path
) -> None:
    run = runs["single"]
    folder = tmp_path / "out"
    shutil.copytree(runs["tmp"] / "single", folder)
    run = dataclasses.replace(run, labels={**run.labels, "out": str(folder)})
    originals = sorted(p.name for p in folder.glob("*.png"))
    outside = tmp_path / "secret.png"
    shutil.copy(folder / originals[0], outside)
    (folder / "03-link.png").symlink_to(outside)  # leads out of the folder
    shutil.copy(folder / originals[0], folder / "04-other.png")  # another run's image
    (folder / "04-other.json").write_text('{"runId": "01SOMEONEELSE", "workflowId": "wf"}')
    shutil.copy(folder / originals[0], folder / "notes.png")  # not a saved image's name
    (folder / "05-dir.png").mkdir()
    (folder / originals[1]).with_suffix(".json").unlink()  # a crash before its sidecar
    names = [i.name for i in saved_images(run)]
    assert names == originals  # the one without a sidecar is still the run's (its folder)
    assert saved_images(run)[1].prompt is None


def test_a_run_that_is_not_a_generation_has_no_gallery(runs: dict[str, Any]) -> None:
    run = dataclasses.replace(runs["single"], workflow_id="other", labels={})
    assert saved_images(run, [runs["tmp"] / "single"]) == []
