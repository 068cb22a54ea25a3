"""Jobs as queued: their JSON, their ids, and how an inputs file becomes jobs (checked before
anything is queued, secrets never among them, the batch key ``weft batch`` uses)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from weft.api import load_document
from weft.batch import runner as batch_runner
from weft.batch.results import PARTIAL, RowResult
from weft.civitai.batch import ask_from_row
from weft.civitai.planning import GenerationAsk, LoraChoice
from weft.engine.options import RunOptions
from weft.engine.runner import select_plan
from weft.errors import UsageError
from weft.scaleout.jobs import CIVITAI, WORKFLOW, Job, JobId, JobOutcome, job_id
from weft.scaleout.rows import ask_values, civitai_jobs, file_batch_key, workflow_jobs

from .servers import write_shop_docs


def test_a_job_reads_back_as_it_was_queued() -> None:
    job = Job(
        kind=WORKFLOW, batch="b-1", row=3, line=4, digest="ab12", run_id="R1",
        values={"id": 1, "token": {"$weftSecret": "token"}}, attempt=2, document_uri="/d.yaml",
        document_hash="h", workflow_id="w", options={"maxSteps": 5}, run_id_input="key",
    )  # fmt: skip
    again = Job.from_json(orjson.loads(orjson.dumps(job.to_json())))
    assert again == job
    assert job.id == "b-1.r3.ab12.a2" == job_id("b-1", 3, "ab12", 2)
    assert JobId.parse(job.id) == JobId("b-1", 3, "ab12", 2)
    assert JobId.parse("b-1.r3.ab12") is None
    civitai = Job(kind=CIVITAI, batch="b-2", row=1, line=1, digest="ff", run_id="R2",
                  values={"prompt": "x"}, api_base="http://127.0.0.1:1",
                  out_root="/out")  # fmt: skip
    assert Job.from_json(civitai.to_json()) == civitai
    assert civitai.labels == {"batch": "b-2", "row": "1", "digest": "ff"}
    with pytest.raises(ValueError):
        Job.from_json({**civitai.to_json(), "format": 99})


def test_an_outcome_keeps_the_results_line_but_not_the_outputs() -> None:
    row = RowResult(2, 3, "R", PARTIAL, outputs={"images": [1]}, extra={"files": ["a.png"]})
    stored = JobOutcome(row, retry=False).to_json()
    assert "outputs" not in stored and stored["files"] == ["a.png"]
    back = JobOutcome.from_json(orjson.loads(orjson.dumps(stored)))
    assert back is not None and back.row.partial and back.row.extra == {"files": ["a.png"]}
    assert back.row.source == "run" and back.retry is False
    assert JobOutcome.from_json(None) is None


def test_workflow_rows_become_jobs_with_the_in_process_batch_key(tmp_path: Path) -> None:
    doc = write_shop_docs(tmp_path)
    loaded = load_document(doc)
    plan = select_plan(loaded, "fetch-item")
    rows = tmp_path / "rows.csv"
    rows.write_text("id\n1\n22\n")
    key, jobs = workflow_jobs(loaded, plan, rows, options=RunOptions.build(max_steps=7))
    expected = batch_runner.batch_key_for(
        loaded.document.content_hash, "fetch-item", "file:" + str(rows.resolve())
    )
    assert key == expected == file_batch_key(loaded.document.content_hash, "fetch-item", rows)
    assert [j.values for j in jobs] == [
        {"id": 1, "token": {"$weftSecret": "token"}},  # CSV text typed; the secret a placeholder
        {"id": 22, "token": {"$weftSecret": "token"}},
    ]
    assert [(j.row, j.line) for j in jobs] == [(1, 2), (2, 3)]
    assert jobs[0].options["maxSteps"] == 7 and "auth" not in jobs[0].options
    assert len({j.run_id for j in jobs}) == 2


def test_a_row_holding_a_secret_or_a_bad_value_queues_nothing(tmp_path: Path) -> None:
    doc = write_shop_docs(tmp_path)
    loaded = load_document(doc)
    plan = select_plan(loaded, "fetch-item")
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"id": 1}\n{"id": 2, "token": "t0ken-value"}\n')
    with pytest.raises(UsageError) as caught:
        workflow_jobs(loaded, plan, secret)
    assert "the secret input 'token' cannot be queued" in str(caught.value)
    assert f"{secret}:2" in str(caught.value) and "t0ken-value" not in str(caught.value)
    ok = tmp_path / "ok.jsonl"
    ok.write_text('{"id": 1}\n')
    with pytest.raises(UsageError, match="cannot be queued"):
        workflow_jobs(loaded, plan, ok, defaults={"token": "x"})
    bad = tmp_path / "bad.csv"
    bad.write_text("id\nseven\n")
    with pytest.raises(UsageError) as caught:
        workflow_jobs(loaded, plan, bad)
    assert "row 1 cannot be queued" in str(caught.value) and f"{bad}:2" in str(caught.value)


def test_generate_options_become_row_values_that_plan_the_same_ask(tmp_path: Path) -> None:
    ask = GenerationAsk(
        model_version=1001, prompt="a lighthouse", negative_prompt="fog", checkpoint=128713,
        loras=(LoraChoice(1012, 0.8), LoraChoice(1013)), width=64, height=64, steps=9,
        cfg_scale=6.5, seed=42, quantity=2, sampler="euler", clip_skip=1, trigger_words=False,
    )  # fmt: skip
    assert ask_from_row(ask_values(ask), GenerationAsk(model_version=0, prompt="")) == ask
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"prompt": "a boat"}\n{"modelVersionId": 1002, "width": 128}\n')
    key, jobs = civitai_jobs(rows, ask, api_base="http://127.0.0.1:9", out_root=tmp_path / "o")
    assert key.startswith("b-") and [j.kind for j in jobs] == [CIVITAI, CIVITAI]
    assert jobs[0].values["prompt"] == "a boat" and jobs[0].values["modelVersionId"] == 1001
    assert jobs[1].values["modelVersionId"] == 1002 and jobs[1].values["width"] == 128
    assert jobs[0].out_root == str((tmp_path / "o").resolve())
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"prompt": "x", "colour": "red"}\n')
    with pytest.raises(UsageError, match="row 1 cannot be queued: unknown column 'colour'"):
        civitai_jobs(unknown, ask, api_base=None, out_root=tmp_path)
