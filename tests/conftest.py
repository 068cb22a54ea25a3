"""Shared test helpers: where the reference material lives, and a skip when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test with a clear reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material not available: {path} (../shared is absent)")
    return path


@pytest.fixture
def seed_document() -> Path:
    return shared_path("seed", "arazzo", "civitai-model-version-to-generation-workflow.yml")
