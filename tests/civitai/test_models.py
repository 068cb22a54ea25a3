"""`weft civitai models`: what can be passed to `generate`, with family and role (the exact
lines a user reads), against a simulator and the embedded one."""

from __future__ import annotations

import json
from typing import Any

from tests.civitai.helpers import cli


def test_models_lists_versions_with_family_and_role(sim_factory: Any) -> None:
    sim = sim_factory()
    result = cli("models", "ink", "--api-base", sim.base_url, "--token", sim.token)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "  VERSION  FAMILY       ROLE        BASE MODEL        MODEL",
        "     1045  Flux.2       lora        Flux.2 D          Dev Ink Wash v1",
        "     1012  SD 1.x       lora        SD 1.5            Ink Sketch v1",
        "     1004  Illustrious  checkpoint  Illustrious       Ink Illustrious v1.0",
        "generate with: weft civitai generate --model-version VERSION --prompt '…'",
    ]
    as_json = cli("models", "--type", "LORA", "--base-model", "Pony", "--json",
                  "--api-base", sim.base_url, "--token", sim.token)  # fmt: skip
    rows = json.loads(as_json.stdout)
    assert rows and all(r["role"] == "lora" and r["family"] == "Pony" for r in rows)
    assert all(r["generate"] for r in rows)


def test_models_marks_what_cannot_be_generated(sim_factory: Any) -> None:
    sim = sim_factory()
    result = cli("models", "--json", "--limit", "100", "--api-base", sim.base_url,
                 "--token", sim.token)  # fmt: skip
    rows = {r["modelVersionId"]: r for r in json.loads(result.stdout)}
    assert rows[1051]["family"] is None and rows[1051]["generate"] is False  # SD 2.1
    assert rows[128713]["generate"] is True


def test_models_without_a_token_reads_the_embedded_simulator() -> None:
    result = cli("models", "DreamShaper")
    assert result.exit_code == 0, result.output
    assert "embedded simulator" in result.stderr
    assert "   128713  SD 1.x       checkpoint  SD 1.5            DreamShaper 8" in result.stdout
