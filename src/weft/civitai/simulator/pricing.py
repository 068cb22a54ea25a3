"""Buzz cost of an imageGen step, by the formulas Civitai's recipes document.

- sdcpp / comfy SD1 and SDXL, comfy Flux.1: ``unit × (w·h / ref²) × (steps / refSteps) × quantity``
  (SDXL and comfy Flux.1: 8 Buzz at 1024², SD1: 4 Buzz at 512²; refSteps 20 on sdcpp, 30 on comfy
  SD, 20 on comfy Flux.1).
- sdcpp Flux.1: ``0.5 × steps × (cfgScale == 1 ? 1 : 2) × quantity``.
- flux2 klein: ``stepCost × steps × (editImages + 1) × (cfgScale == 1 ? 1 : 2) × quantity`` with
  stepCost 0.3 (4b) or 0.5 (9b).
- flux2 dev/flex/pro/max: ``ceil(w·h / 1e6) × perMegapixel × quantity``; dev's per-megapixel cost
  doubles with LoRAs. Only dev's (20, ~40 Buzz at 1024²) is documented; flex, pro and max are the
  simulator's choice (25, 40, 80).

The API reports integer Buzz, so the base is rounded up. Tips are rates (0–2) applied to the base
and added to the total.
"""

from __future__ import annotations

import math
from typing import Any

# pricing rule -> (Buzz for one reference image, reference side in pixels, reference steps)
PIXEL_RATES: dict[str, tuple[float, int, int]] = {
    "sdcpp-sdxl": (8.0, 1024, 20),
    "sdcpp-sd1": (4.0, 512, 20),
    "comfy-sdxl": (8.0, 1024, 30),
    "comfy-sd1": (4.0, 512, 30),
    "comfy-flux1": (8.0, 1024, 20),
}
FLUX2_PER_MEGAPIXEL = {"dev": 20, "flex": 25, "pro": 40, "max": 80}
KLEIN_STEP_COST = {"4b": 0.3, "4b-base": 0.3, "9b": 0.5, "9b-base": 0.5, "9b-kv": 0.5}


def _value(inp: dict[str, Any], defaults: Any, name: str) -> Any:
    value = inp.get(name)
    return defaults.get(name) if value is None else value


def image_gen_cost(
    rule: str, inp: dict[str, Any], defaults: Any, tips: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``WorkflowCost`` of one (validated) imageGen input priced by ``rule``."""
    width = int(_value(inp, defaults, "width") or 1024)
    height = int(_value(inp, defaults, "height") or 1024)
    quantity = int(_value(inp, defaults, "quantity") or 1)
    factors: dict[str, float] = {"quantity": float(quantity)}
    if rule in PIXEL_RATES:
        unit, ref, ref_steps = PIXEL_RATES[rule]
        steps = int(_value(inp, defaults, "steps") or ref_steps)
        factors |= {"size": width * height / (ref * ref), "steps": steps / ref_steps}
        raw = unit * factors["size"] * factors["steps"] * quantity
    elif rule in ("sdcpp-flux1", "flux2-klein"):
        steps = int(_value(inp, defaults, "steps") or 20)
        cfg = float(_value(inp, defaults, "cfgScale") or 1)
        edits = len(inp.get("images") or ())
        step_cost = 0.5
        if rule == "flux2-klein":
            step_cost = KLEIN_STEP_COST[str(_value(inp, defaults, "modelVersion") or "4b")]
        factors |= {"steps": float(steps), "guidance": 1.0 if cfg == 1 else 2.0}
        raw = step_cost * steps * (edits + 1) * factors["guidance"] * quantity
    else:  # flux2-mp
        megapixels = math.ceil(width * height / 1_000_000)
        rate = FLUX2_PER_MEGAPIXEL[str(inp.get("model"))]
        if inp.get("loras"):
            rate *= 2
        factors |= {"megapixels": float(megapixels)}
        raw = megapixels * rate * quantity
    base = math.ceil(round(raw, 6))
    rates = tips or {}
    tip_civitai = math.ceil(round(base * float(rates.get("civitai") or 0), 6))
    tip_creators = math.ceil(round(base * float(rates.get("creators") or 0), 6))
    return {
        "base": base,
        "factors": factors,
        "tips": {"civitai": tip_civitai, "creators": tip_creators},
        "total": base + tip_civitai + tip_creators,
    }


def expected_cost(ecosystem: str, width: int, height: int, steps: int, quantity: int) -> int:
    """The sdcpp SD formula alone (no tips), for callers that want to check a bill."""
    unit, ref, ref_steps = PIXEL_RATES[f"sdcpp-{ecosystem}"]
    raw = unit * (width * height / (ref * ref)) * (steps / ref_steps) * quantity
    return math.ceil(round(raw, 6))
