"""``weft civitai simulate``: its fault options reach the simulator, bad ones are usage errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from click.testing import CliRunner

from weft.civitai.commands import civitai


def test_bad_faults_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(civitai, ["simulate", "--faults", "teapot=0.5"])
    assert result.exit_code == 2
    assert "--faults" in result.output and "teapot" in result.output


def test_help_describes_one_step_seconds_value() -> None:
    result = CliRunner().invoke(civitai, ["simulate", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "each of its four running statuses" in text
    assert "--faults SPEC" in text and "--after-commit" in text and "--wait-boolean" in text


def test_faults_reach_the_served_simulator() -> None:
    argv = [sys.executable, "-m", "weft", "civitai", "simulate", "--port", "0", "--token", "tk",
            "--faults", "502@site=#1,blocked=0", "--summary"]  # fmt: skip
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("Civitai simulator at http://127.0.0.1:")
        base = first.rsplit(" ", 1)[1]
        assert proc.stdout.readline().strip() == "token: tk"
        statuses = []
        for _ in range(2):
            try:
                with urllib.request.urlopen(f"{base}/api/v1/model-versions/1002") as resp:
                    statuses.append(resp.status)
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
        assert statuses == [502, 200]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    summary = next(x for x in out.splitlines() if x.startswith("summary: "))
    counters = json.loads(summary[len("summary: ") :])
    assert counters["faults"] == {"502": 1}
    assert counters["requestsByOperation"]["getModelVersion"] == 2
