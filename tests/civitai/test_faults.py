"""Nothing paid for is lost to a transient fault: every request of `weft civitai generate` (Site
GETs, the keyed submit, polls, image downloads) survives 5xx answers, gateway pages, resets,
slow answers and 429s without Retry-After; a poll that keeps failing stops the run as
resumable (exit 4), and `weft resume` finishes it with the same workflow and one charge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.civitai.helpers import generate, one_error_line, real_submissions
from weft.civitai.simulator import Fault


@pytest.mark.parametrize(
    "fault",
    [
        Fault("5xx", nth=(1, 2), endpoints=("site",)),
        Fault("html", nth=(1,), endpoints=("site",)),
        Fault("reset", nth=(1,), endpoints=("site",)),
        Fault("429", nth=(1, 2), endpoints=("site",)),
        Fault("502", nth=(1,), endpoints=("submit",)),
        Fault("502", nth=(1,), endpoints=("submit",), after_commit=True),
        Fault("reset", nth=(1,), endpoints=("submit",), after_commit=True),
        Fault("html", nth=(1, 2), endpoints=("poll",)),
        Fault("reset", nth=(1,), endpoints=("poll",)),
        Fault("429", nth=(1,), endpoints=("poll",)),
        Fault("5xx", nth=(1, 2), endpoints=("blob",)),
        Fault("reset", nth=(1,), endpoints=("blob",)),
        Fault("slow", nth=(1,), endpoints=("submit", "poll"), delay=0.3),
    ],
    ids=lambda f: f"{f.kind}@{'+'.join(f.endpoints)}{'-after-commit' if f.after_commit else ''}",
)
def test_a_transient_fault_is_survived_with_one_charge(
    sim_factory: Any, tmp_path: Path, fault: Fault
) -> None:
    sim = sim_factory(faults=(fault,))
    size = ["--width", "512", "--height", "512", "--out", str(tmp_path), "--json"]
    result = generate(sim, "--model-version", "1002", "--prompt", "x", "--quantity", "2", *size)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "succeeded" and len(summary["files"]) == 2
    assert sum(sim.state.faults_injected.values()) >= 1
    assert sim.state.workflows_created == 1 and sim.state.charges_by_account == {"default": 1}
    keys = {s.external_id for s in real_submissions(sim) if s.external_id}
    assert len(keys) == 1  # a re-sent submit carried the same externalId


async def test_a_poll_that_keeps_failing_stops_resumable_and_resume_finishes(
    tmp_path: Path,
) -> None:
    from weft.civitai.errors import CivitaiError, Reason
    from weft.civitai.generate import GenerateRequest, generate
    from weft.civitai.planning import GenerationAsk
    from weft.civitai.resume import resume_generation
    from weft.civitai.simulator import SimulatorConfig, run_simulator
    from weft.effects.clock import ManualClock

    # every poll answers 502 for longer than the retries last (waited on a manual clock)
    config = SimulatorConfig.fast(
        faults=(Fault("502", nth=tuple(range(1, 8)), endpoints=("poll",)),)
    )
    store = tmp_path / "runs.db"
    async with run_simulator(config) as sim:
        req = GenerateRequest(
            GenerationAsk(1002, "x", width=512, height=512), token=sim.token,
            api_base=sim.base_url, out=tmp_path / "out",
        )  # fmt: skip
        lines: list[str] = []
        with pytest.raises(CivitaiError) as info:
            await generate(req, notice=lines.append, clock=ManualClock(), store=store)
        error = info.value
        assert error.reason == Reason.UNAVAILABLE and error.exit_code == 4 and error.resumable
        assert error.what.startswith(
            "Civitai kept answering 502 at step poll while following workflow wf_"
        )
        assert error.hint == f"nothing paid is lost: finish it with `weft resume {error.run_id}`"
        assert sim.state.workflows_created == 1 and sim.state.charges_by_account == {"default": 1}
        outcome = await resume_generation(
            str(error.run_id), token=sim.token, store=store, notice=lines.append, progress=False
        )
        assert outcome.status == "succeeded" and len(outcome.files) == 1
        assert outcome.workflow_id == error.workflow_id
        assert sim.state.workflows_created == 1 and sim.state.charges_by_account == {"default": 1}
        assert len(real_submissions(sim)) == 1  # resume polled; it did not submit again


def test_a_429_storm_waits_and_then_stops_resumable(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(rate_limit=1.0, retry_after=0.01)
    result = generate(sim, "--model-version", "1002", "--prompt", "x", "--out", str(tmp_path))
    assert result.exit_code == 4, result.output
    assert one_error_line(result).startswith(
        "error: Civitai kept rate-limiting the requests (429) at step submit"
    )
    assert sim.state.rate_limited == 6 and sim.state.workflows_created == 0
    assert "Civitai answered 429 at submit; trying again" in result.stderr


def test_expired_image_urls_are_replaced_by_fresh_ones(sim_factory: Any, tmp_path: Path) -> None:
    sim = sim_factory(blob_url_ttl=0)  # every URL the API signs has already expired
    size = ["--width", "512", "--height", "512", "--out", str(tmp_path), "--json"]
    result = generate(sim, "--model-version", "1002", "--prompt", "x", "--quantity", "2", *size)
    # the refreshed URLs are expired too: the download says so, and the run can be finished
    assert result.exit_code == 4, result.output
    assert json.loads(result.stdout)["error"]["reason"] == "download_failed"
    assert sim.state.requests_by_operation.get("getWorkflow", 0) >= 2  # read again for URLs
    assert sim.state.charges_by_account == {"default": 1}


def test_an_outage_is_transient_and_stays_so_when_tied_to_its_run() -> None:
    """Errors that may pass say so (a batch then tries the row again after its pauses); the
    copy of an error tied to its run keeps it; a refusal never is."""
    from weft.civitai.errors import CivitaiError, Reason

    down = CivitaiError(Reason.UNAVAILABLE, "the Civitai Site API gave no answer")
    assert down.transient and down.at_run("r1").transient
    assert CivitaiError(Reason.RATE_LIMITED, "429s outlasted the retries").transient
    assert not CivitaiError(Reason.NOT_FOUND, "model version 9 was not found").transient
    lost = CivitaiError(Reason.DOWNLOAD_FAILED, "no answer", resumable=True, transient=True)
    assert lost.at_run("r1").transient and lost.at_run("r1").resumable
    assert not CivitaiError(Reason.DOWNLOAD_FAILED, "not a PNG").transient
