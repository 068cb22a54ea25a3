"""Simulator settings: timings, outcome, accounts, rate limits, injected faults, blocked images."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from weft.civitai.simulator.catalog import DEFAULT_CATALOG, CatalogEntry

Outcome = Literal["succeeded", "failed", "expired"]
ALL_SCOPES = ("AIServicesRead", "AIServicesWrite")
ENDPOINT_CLASSES = ("site", "submit", "poll", "blob")
FAULT_KINDS = ("5xx", "500", "502", "503", "504", "html", "reset", "slow", "429")


@dataclass(frozen=True)
class AccountSpec:
    """An account beyond the ready-made one: its Buzz, token scopes and mature-content right."""

    balance: int = 10_000  # yellow Buzz (pays for anything)
    blue: int = 0  # blue Buzz: spent first, SFW workflows only
    green: int = 0  # green Buzz: spent after blue, SFW workflows only
    scopes: tuple[str, ...] = ALL_SCOPES
    allow_mature: bool = True
    name: str | None = None


@dataclass(frozen=True)
class Fault:
    """An injected failure. ``kind``: ``5xx`` (500/502/503/504 at random, JSON problem), one of
    ``500 502 503 504``, ``html`` (a gateway's 502 page, text/html), ``reset`` (the connection
    is aborted without an answer), ``slow`` (``delay`` seconds before the normal answer) or
    ``429`` (the edge's answer: no Retry-After, no JSON). It hits requests of ``endpoints``
    (``site``, ``submit``, ``poll`` = GET of workflows, ``blob``) either at ``rate`` (0..1,
    seeded) or on the ``nth`` requests of that endpoint class (1-based). On a submit,
    ``after_commit`` answers the fault after the workflow was created and charged."""

    kind: str
    rate: float = 0.0
    nth: tuple[int, ...] = ()
    endpoints: tuple[str, ...] = ENDPOINT_CLASSES
    after_commit: bool = False
    delay: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (one of {', '.join(FAULT_KINDS)})")
        unknown = [e for e in self.endpoints if e not in ENDPOINT_CLASSES]
        if unknown:
            raise ValueError(
                f"unknown endpoint class {unknown[0]!r} (one of {', '.join(ENDPOINT_CLASSES)})"
            )
        if not 0 <= self.rate <= 1:
            raise ValueError(f"fault rate {self.rate} is not between 0 and 1")


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
    # older deployments typed GET ?wait as a boolean: an integer is then a 400
    wait_boolean: bool = False
    # fraction (0..1) of orchestration requests answered 429 by the API (problem details with
    # this Retry-After, seconds; fractional values such as 0.01 keep tests fast)
    rate_limit: float = 0.0
    retry_after: float = 1
    rate_limit_seed: int = 7
    # lifetime of signed blob URLs, seconds (<= 0 issues URLs that are already expired)
    blob_url_ttl: float = 3600.0
    # the ready-made account ("default"): its token (generated when None), Buzz, scopes
    token: str | None = None
    balance: int = 10_000
    blue_balance: int = 0
    scopes: tuple[str, ...] = ALL_SCOPES
    allow_mature: bool = True
    # more accounts: token -> yellow Buzz, or token -> AccountSpec (named acct-2, acct-3, ...)
    accounts: Mapping[str, int | AccountSpec] = field(default_factory=dict)
    catalog: tuple[CatalogEntry, ...] = DEFAULT_CATALOG
    # sdcpp Flux.1: the spec marks clipLModel, t5XXLModel and vaeModel required, the docs say
    # only diffuserModel is; False follows the docs
    flux1_components_required: bool = False
    # injected faults (see Fault) and the seed of their draws
    faults: tuple[Fault, ...] = ()
    fault_seed: int = 7
    # images of succeeded workflows that are blocked (available false, url null, blockedReason):
    # a fraction drawn per image (seeded) and/or these image indexes of every workflow
    blocked_rate: float = 0.0
    blocked_indexes: tuple[int, ...] = ()
    blocked_reason: str = "The image was blocked by content moderation."
    # seconds after success before images are available (until then available false, url null)
    unavailable_seconds: float = 0.0

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


_FAULT_ITEM = re.compile(r"^(?P<kind>[a-z0-9]+)(?:@(?P<endpoints>[a-z+]+))?=(?P<value>\S+)$")


def parse_faults(
    text: str, *, after_commit: bool = False, delay: float = 1.0
) -> tuple[tuple[Fault, ...], float]:
    """``--faults`` syntax: comma-separated ``KIND[@ENDPOINTS]=RATE`` or ``KIND[@ENDPOINTS]=#N``
    (``#2+#5``: the 2nd and 5th requests); ENDPOINTS joined with ``+``; ``blocked=RATE`` sets the
    blocked-image rate. Returns (faults, blocked rate). Raises ValueError naming the bad item."""
    faults: list[Fault] = []
    blocked = 0.0
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = _FAULT_ITEM.match(item)
        if match is None:
            raise ValueError(f"{item!r} is not KIND[@ENDPOINTS]=RATE or KIND[@ENDPOINTS]=#N")
        kind, value = match["kind"], match["value"]
        endpoints = tuple(match["endpoints"].split("+")) if match["endpoints"] else ENDPOINT_CLASSES
        try:
            if value.startswith("#"):
                nth = tuple(int(n.lstrip("#")) for n in value.split("+"))
                rate = 0.0
            else:
                nth, rate = (), float(value)
        except ValueError:
            raise ValueError(f"{item!r}: {value!r} is neither a rate nor #N") from None
        if kind == "blocked":
            if nth or not 0 <= rate <= 1:
                raise ValueError(f"{item!r}: blocked takes a rate between 0 and 1")
            blocked = rate
            continue
        faults.append(Fault(kind, rate, nth, endpoints, after_commit, delay))
    return tuple(faults), blocked
