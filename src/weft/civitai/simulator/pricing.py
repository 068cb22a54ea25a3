"""Buzz cost of an imageGen step (sdcpp SD1 / SDXL), as Civitai prices them.

SDXL: ``8 × (w·h / 1024²) × (steps / 20) × quantity``; SD1: ``4 × (w·h / 512²) × (steps / 20) ×
quantity``. The API reports integer Buzz, so the base is rounded up. Tips are rates (0–2) applied
to the base and added to the total.
"""

from __future__ import annotations

import math
from typing import Any

# ecosystem -> (Buzz for one reference image at 20 steps, reference side in pixels, default side)
RATES: dict[str, tuple[float, int, int]] = {"sdxl": (8.0, 1024, 1024), "sd1": (4.0, 512, 512)}
DEFAULT_STEPS = 20
DEFAULT_QUANTITY = 1


def image_gen_cost(inp: dict[str, Any], tips: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``WorkflowCost`` of one imageGen input (already validated)."""
    unit, ref, default_side = RATES.get(str(inp.get("ecosystem")), RATES["sdxl"])
    width = int(inp.get("width") or default_side)
    height = int(inp.get("height") or default_side)
    steps = int(inp.get("steps") or DEFAULT_STEPS)
    quantity = int(inp.get("quantity") or DEFAULT_QUANTITY)
    size = width * height / (ref * ref)
    raw = unit * size * (steps / DEFAULT_STEPS) * quantity
    base = math.ceil(round(raw, 6))
    rates = tips or {}
    tip_civitai = math.ceil(base * float(rates.get("civitai") or 0))
    tip_creators = math.ceil(base * float(rates.get("creators") or 0))
    return {
        "base": base,
        "factors": {"size": size, "steps": steps / DEFAULT_STEPS, "quantity": float(quantity)},
        "tips": {"civitai": tip_civitai, "creators": tip_creators},
        "total": base + tip_civitai + tip_creators,
    }


def expected_cost(ecosystem: str, width: int, height: int, steps: int, quantity: int) -> int:
    """The formula alone (no tips), for callers that want to check a bill."""
    unit, ref, _ = RATES[ecosystem]
    return math.ceil(round(unit * (width * height / (ref * ref)) * (steps / 20) * quantity, 6))
