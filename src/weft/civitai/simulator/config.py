"""Simulator settings: timings, outcome, rate limiting, accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from weft.civitai.simulator.catalog import DEFAULT_CATALOG, CatalogEntry

Outcome = Literal["succeeded", "failed", "expired"]


@dataclass
class SimulatorConfig:
    # seconds spent in each running status, in order
    unassigned: float = 0.4
    preparing: float = 0.4
    scheduled: float = 0.4
    processing: float = 1.2
    outcome: Outcome = "succeeded"
    # real seconds per unit of the ``wait`` query parameter (1.0 = as documented; tests shrink it)
    wait_unit: float = 1.0
    wait_cap: int = 100
    # fraction (0..1) of orchestration requests answered 429, with this Retry-After (seconds;
    # fractional values such as 0.01 keep tests fast)
    rate_limit: float = 0.0
    retry_after: float = 1
    rate_limit_seed: int = 7
    # lifetime of signed blob URLs, seconds (<= 0 issues URLs that are already expired)
    blob_url_ttl: float = 3600.0
    # the ready-made account: its token (generated when None) and Buzz balance
    token: str | None = None
    balance: int = 10_000
    # more accounts: token -> Buzz balance (named acct-2, acct-3, ...)
    accounts: dict[str, int] = field(default_factory=dict)
    catalog: tuple[CatalogEntry, ...] = DEFAULT_CATALOG

    @classmethod
    def fast(cls, **overrides: object) -> SimulatorConfig:
        """Timings short enough for tests: the whole lifecycle takes about 0.2 s."""
        values: dict[str, object] = {
            "unassigned": 0.05,
            "preparing": 0.05,
            "scheduled": 0.05,
            "processing": 0.05,
            "wait_unit": 0.02,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
