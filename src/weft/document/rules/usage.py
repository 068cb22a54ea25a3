"""Rules on what is declared but never used: workflow inputs and components."""

from __future__ import annotations

import json
import re
from typing import Any

from weft.document.diagnostics import Diagnostic
from weft.document.loaded import LoadedDocument


def check(loaded: LoadedDocument) -> list[Diagnostic]:
    doc = loaded.document
    raw = doc.raw if isinstance(doc.raw, dict) else {}
    out: list[Diagnostic] = []
    raw_wfs = raw.get("workflows") if isinstance(raw.get("workflows"), list) else []
    assert isinstance(raw_wfs, list)
    for wf, raw_wf in zip(doc.workflows, [w for w in raw_wfs if isinstance(w, dict)], strict=False):
        names = _input_names(loaded, wf.inputs)
        if not names:
            continue
        text = json.dumps({k: v for k, v in raw_wf.items() if k != "inputs"}, default=str)
        used = set(re.findall(r"\$inputs\.([A-Za-z0-9_\-]+)", text))
        used |= set(re.findall(r"\$inputs#/([A-Za-z0-9_\-]+)", text))
        for name in names:
            if name not in used:
                loc = (
                    loaded.parsed.loc(f"{wf.pointer}/inputs/properties/{name}")
                    if (loaded.parsed)
                    else wf.at("inputs")
                )
                out.append(
                    Diagnostic(
                        "arazzo/unused-input",
                        "warning",
                        f"input {name!r} of workflow {wf.workflow_id!r} is never used",
                        loc,
                        f"use it (e.g. value: $inputs.{name}) or remove it from inputs",
                    )
                )
    text = json.dumps({k: v for k, v in raw.items() if k != "components"}, default=str)
    comps = raw.get("components") if isinstance(raw.get("components"), dict) else {}
    assert isinstance(comps, dict)
    comp_text = json.dumps(comps, default=str)
    for kind in ("parameters", "successActions", "failureActions", "inputs"):
        table = comps.get(kind)
        if not isinstance(table, dict):
            continue
        for name in table:
            refs = [f"$components.{kind}.{name}", f"#/components/{kind}/{name}"]
            if any(f'{r}"' in text or f'{r}"' in comp_text for r in refs):
                continue
            loc = loaded.parsed.loc(f"/components/{kind}/{name}") if loaded.parsed else doc.loc
            out.append(
                Diagnostic(
                    "arazzo/unused-component",
                    "warning",
                    f"components.{kind}.{name} is never referenced",
                    loc,
                    f"reference it ($components.{kind}.{name}) or remove it",
                )
            )
    return out


def _input_names(loaded: LoadedDocument, inputs: Any) -> list[str]:
    if isinstance(inputs, dict) and isinstance(inputs.get("$ref"), str):
        ref = inputs["$ref"]
        if ref.startswith("#/components/inputs/"):
            inputs = loaded.document.components.inputs.get(ref.rsplit("/", 1)[1])
    if not isinstance(inputs, dict) or not isinstance(inputs.get("properties"), dict):
        return []
    return [str(k) for k in inputs["properties"]]
