"""When a document written for Civitai's APIs fails because the request it builds is one the
real API refuses (the seed's imageGen body), say that this is the document's own defect and name
the finding: the document is linted again with weft's descriptions of the two APIs (which carry
the real request schemas) in place of its own, and the findings of the failing step are shown,
with the command that runs the document's intent."""

from __future__ import annotations

from pathlib import Path

from weft.civitai import bundle_path
from weft.document import LoadedDocument, lint, load
from weft.engine.failure import Failure, FailureKind

_DESCRIPTIONS = {"orchestration": "orchestration.openapi.yaml", "site": "site.openapi.yaml"}


def weft_descriptions(loaded: LoadedDocument) -> dict[str, str]:
    """Source name -> weft's description of the same Civitai API (by the source's title)."""
    folder = bundle_path().parent / "descriptions"
    found: dict[str, str] = {}
    for name, source in loaded.sources.items():
        if source.openapi is None:
            continue
        info = source.openapi.raw.get("info") if isinstance(source.openapi.raw, dict) else None
        title = str(info.get("title", "")) if isinstance(info, dict) else ""
        if "civitai" not in title.lower():
            continue
        kind = "orchestration" if "orchestration" in title.lower() else "site"
        path = folder / _DESCRIPTIONS[kind]
        if Path(source.url).resolve() != path.resolve():
            found[name] = str(path)
    return found


def explain_refusal(loaded: LoadedDocument, failure: Failure) -> list[str]:
    """Notes for a run of a Civitai document that the API refused (4xx) at some step."""
    root = failure.root()
    code = root.status_code
    if root.kind != FailureKind.HTTP_STATUS or code is None or not 400 <= code < 500:
        return []
    if code in (401, 403, 404, 429):
        return []
    swapped = weft_descriptions(loaded)
    if not swapped or root.step_id is None:
        return []
    try:
        relinted = load(loaded.document.uri, sources=swapped)
    except Exception:
        return []
    step = _step_lines(relinted, root.step_id)
    if step is None:
        return []
    first, last = step
    findings = [
        d
        for d in lint(relinted)
        if d.severity in ("error", "warning")
        and first <= d.location.line <= last
        and d.rule not in ("arazzo/bare-operation-id", "arazzo/bare-expression")
    ]
    if not findings:
        return []
    overrides = " ".join(f"--source {name}={path}" for name, path in swapped.items())
    notes = [
        f"note: this is the document's own defect: step {root.step_id!r} builds a request the "
        "Civitai API refuses; weft lint, reading weft's descriptions of the Civitai APIs, says:"
    ]
    for d in findings[:3]:
        notes.append(f"  {d.rule}: {d.message}")
        if d.fix:
            notes.append(f"    fix: {d.fix}")
    notes.append(f"  see them all: weft lint {loaded.document.uri} {overrides}")
    notes.append(
        "  its intent, on this deployment: weft civitai generate --model-version ID --prompt ... "
        "(or `weft lint --fix` the document, then run it with those --source descriptions)"
    )
    return notes


def _step_lines(loaded: LoadedDocument, step_id: str) -> tuple[int, int] | None:
    for wf in loaded.document.workflows:
        steps = wf.steps
        for i, step in enumerate(steps):
            if step.step_id == step_id:
                end = steps[i + 1].loc.line - 1 if i + 1 < len(steps) else 10**9
                return step.loc.line, end
    return None


__all__ = ["explain_refusal", "weft_descriptions"]
