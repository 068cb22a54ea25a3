"""The other Arazzo runners the comparison bench measures, and the seed rewrites they can execute.

Each peer is installed on first use into its own throwaway environment under ``bench/.envs/``
(gitignored; never committed):

- Jentic's ``arazzo-runner`` (PyPI) in a virtual environment: ``bench/.envs/jentic``, run as
  ``arazzo-runner --log-level ERROR execute-workflow DOC --workflow-id ID --inputs JSON``.
- Redocly's ``@redocly/cli`` (npm) in its own prefix: ``bench/.envs/redocly``, run as
  ``redocly respect DOC -w ID -i k=v … -S source=url … --max-steps N``.

The rewrites are written at run time from the seed in ``../shared`` (never copied into the
project). What each one changes, and why:

- both: the ``Authorization`` value ``Bearer $inputs.apiKey`` becomes ``Bearer {$inputs.apiKey}``
  (an embedded expression needs braces in a template for both runners);
- both: the polling step's JSONPath action criteria (``$.status == 'processing' || …``, not
  understood by either) become one simple condition per action (``finished`` → ``readResult``;
  ``failed`` / ``expired`` / ``canceled`` → ``end``) followed by an unconditional ``goto``
  ``pollWorkflow``. The control flow is the same as the seed's for every status the server sends;
- Jentic: action criteria are evaluated without ``$response``/``$statusCode``, so they read the
  step's own output ``$steps.pollWorkflow.outputs.status``; it takes servers from the OpenAPI
  descriptions, so the descriptions are copied with ``servers`` pointing at the local server;
- Respect: takes ``-S source=url`` overrides, so the descriptions are used unchanged (copied next
  to the rewrite so the relative source URLs resolve), and gets ``--max-steps`` above 2,008.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ENVS = BENCH / ".envs"
SHARED_SEED = REPO.parent / "shared" / "seed"
SEED_DOC = SHARED_SEED / "arazzo" / "civitai-model-version-to-generation-workflow.yml"
SEED_OPENAPI = SHARED_SEED / "openapi"
SITE_SOURCE = "civitaiSiteApi"
ORCH_SOURCE = "civitaiOrchestrationApi"
WORKFLOW_ID = "model-version-to-generation"
INPUTS: dict[str, Any] = {
    "apiKey": "bench-token",
    "modelVersionId": 128713,
    "engine": "sdxl",
    "prompt": "a lighthouse at dusk",
    "quantity": 1,
}

JENTIC_PACKAGE = "arazzo-runner"
REDOCLY_PACKAGE = "@redocly/cli"
QUIET_NODE_ENV = {
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "NO_COLOR": "1",
    "CI": "true",
}


class Unavailable(Exception):
    """A runner cannot be measured here; the message says why."""


def seed_available() -> bool:
    return SEED_DOC.is_file() and SEED_OPENAPI.is_dir()


def server_urls(base_url: str) -> dict[str, str]:
    """Where each seed source lives on the local seed server."""
    return {SITE_SOURCE: f"{base_url}/api/v1", ORCH_SOURCE: base_url}


# --------------------------------------------------------------------------- installs


def _run_quiet(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("w") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=900)
    if proc.returncode != 0:
        tail = log.read_text()[-600:]
        raise Unavailable(f"`{' '.join(cmd[:4])} …` failed (exit {proc.returncode}): {tail}")


def jentic_executable() -> Path:
    """Install ``arazzo-runner`` into bench/.envs/jentic if needed; its console script."""
    venv = ENVS / "jentic"
    exe = venv / "bin" / "arazzo-runner"
    if exe.exists():
        return exe
    ENVS.mkdir(parents=True, exist_ok=True)
    print(f"  installing {JENTIC_PACKAGE} into {venv} …", file=sys.stderr, flush=True)
    _run_quiet([sys.executable, "-m", "venv", str(venv)], ENVS / "jentic-venv.log")
    pip = str(venv / "bin" / "pip")
    _run_quiet([pip, "install", "--quiet", JENTIC_PACKAGE], ENVS / "jentic-install.log")
    if not exe.exists():
        raise Unavailable(f"{JENTIC_PACKAGE} installed but {exe} is missing")
    return exe


def redocly_executable() -> Path:
    """Install ``@redocly/cli`` into bench/.envs/redocly if needed; its ``redocly`` bin."""
    prefix = ENVS / "redocly"
    exe = prefix / "node_modules" / ".bin" / "redocly"
    if exe.exists():
        return exe
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise Unavailable("node/npm are not installed")
    ENVS.mkdir(parents=True, exist_ok=True)
    print(f"  installing {REDOCLY_PACKAGE} into {prefix} …", file=sys.stderr, flush=True)
    env = {**os.environ, **QUIET_NODE_ENV}
    cmd = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), REDOCLY_PACKAGE]
    _run_quiet(cmd, ENVS / "redocly-install.log", env=env)
    if not exe.exists():
        raise Unavailable(f"{REDOCLY_PACKAGE} installed but {exe} is missing")
    return exe


def installed_version(runner: str) -> str:
    try:
        if runner == "jentic":
            pip = ENVS / "jentic" / "bin" / "pip"
            out = subprocess.run(
                [str(pip), "show", JENTIC_PACKAGE], capture_output=True, text=True, timeout=60
            ).stdout
            for line in out.splitlines():
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
        if runner == "respect":
            package = ENVS / "redocly" / "node_modules" / "@redocly" / "cli" / "package.json"
            return str(json.loads(package.read_text())["version"])
    except (OSError, ValueError, KeyError, subprocess.SubprocessError):
        pass
    return "?"


# --------------------------------------------------------------------------- rewrites


def _load_seed() -> dict[str, Any]:
    if not seed_available():
        raise Unavailable(f"the seed is not available at {SHARED_SEED} (../shared is absent)")
    data = yaml.safe_load(SEED_DOC.read_text())
    assert isinstance(data, dict)
    return data


def _rewrite_doc(doc: dict[str, Any], status_expr: str) -> dict[str, Any]:
    for workflow in doc["workflows"]:
        for step in workflow["steps"]:
            for param in step.get("parameters", []):
                value = param.get("value")
                if isinstance(value, str) and "$inputs.apiKey" in value and "{" not in value:
                    param["value"] = value.replace("$inputs.apiKey", "{$inputs.apiKey}")
            if step["stepId"] != "pollWorkflow":
                continue
            actions: list[dict[str, Any]] = [
                {
                    "name": "finished",
                    "type": "goto",
                    "stepId": "readResult",
                    "criteria": [{"condition": f"{status_expr} == 'succeeded'"}],
                }
            ]
            for status in ("failed", "expired", "canceled"):
                actions.append(
                    {
                        "name": status,
                        "type": "end",
                        "criteria": [{"condition": f"{status_expr} == '{status}'"}],
                    }
                )
            actions.append({"name": "stillRunning", "type": "goto", "stepId": "pollWorkflow"})
            step["onSuccess"] = actions
    return doc


def _copy_descriptions(out_dir: Path, base_url: str | None) -> None:
    target = out_dir / "openapi"
    target.mkdir(parents=True, exist_ok=True)
    urls = server_urls(base_url) if base_url else None
    for path in sorted(SEED_OPENAPI.glob("*.yml")):
        if urls is None:
            (target / path.name).write_text(path.read_text())
            continue
        description = yaml.safe_load(path.read_text())
        source = SITE_SOURCE if "site" in path.name else ORCH_SOURCE
        description["servers"] = [{"url": urls[source]}]
        (target / path.name).write_text(yaml.safe_dump(description, sort_keys=False))


def write_jentic_rewrite(out_dir: Path, base_url: str) -> Path:
    doc = _rewrite_doc(_load_seed(), "$steps.pollWorkflow.outputs.status")
    _copy_descriptions(out_dir, base_url)
    (out_dir / "arazzo").mkdir(parents=True, exist_ok=True)
    path = out_dir / "arazzo" / "seed-jentic.arazzo.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def write_respect_rewrite(out_dir: Path) -> Path:
    doc = _rewrite_doc(_load_seed(), "$response.body#/status")
    _copy_descriptions(out_dir, None)
    (out_dir / "arazzo").mkdir(parents=True, exist_ok=True)
    path = out_dir / "arazzo" / "seed-respect.arazzo.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --------------------------------------------------------------------------- commands


@dataclass
class Invocation:
    argv: list[str]
    env: dict[str, str]
    cwd: Path


def jentic_invocation(work: Path, base_url: str) -> Invocation:
    exe = jentic_executable()
    doc = write_jentic_rewrite(work / "jentic", base_url)
    argv = [
        str(exe),
        "--log-level",
        "ERROR",
        "execute-workflow",
        str(doc),
        "--workflow-id",
        WORKFLOW_ID,
        "--inputs",
        json.dumps(INPUTS),
    ]
    return Invocation(argv, dict(os.environ), doc.parent)


def respect_invocation(work: Path, base_url: str, max_steps: int) -> Invocation:
    exe = redocly_executable()
    doc = write_respect_rewrite(work / "respect")
    argv = [str(exe), "respect", str(doc), "-w", WORKFLOW_ID, "--max-steps", str(max_steps)]
    for name, value in INPUTS.items():
        argv += ["-i", f"{name}={value}"]
    for source, url in server_urls(base_url).items():
        argv += ["-S", f"{source}={url}"]
    return Invocation(argv, {**os.environ, **QUIET_NODE_ENV}, doc.parent)
