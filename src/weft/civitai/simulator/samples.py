"""Rows of small generations over the catalog, for tests and benchmarks.

``checkpoint_rows(first, count)``: rows over the catalog's generatable SD1 and SDXL checkpoints,
64×64, one image each, each prompt its own (rows ``first`` … ``first + count - 1``).
"""

from __future__ import annotations

from typing import Any

from weft.civitai.simulator.catalog import DEFAULT_CATALOG


def checkpoint_rows(first: int, count: int) -> list[dict[str, Any]]:
    versions = [
        e.version_id
        for e in DEFAULT_CATALOG
        if e.published
        and e.model_type == "Checkpoint"
        and e.air.split(":")[2] in ("sd1", "sdxl")
        and e.can_generate
    ]
    return [
        {
            "modelVersionId": versions[i % len(versions)],
            "prompt": f"a lighthouse at dusk, variation {i}",
            "width": 64,
            "height": 64,
            "quantity": 1,
        }
        for i in range(first, first + count)
    ]


__all__ = ["checkpoint_rows"]
