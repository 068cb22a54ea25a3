"""Everything the simulator remembers while it runs: accounts, workflows, blobs, the request log."""

from __future__ import annotations

import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from weft.civitai.simulator.blobs import BlobSpec, Signer
from weft.civitai.simulator.catalog import Catalog
from weft.civitai.simulator.config import SimulatorConfig
from weft.civitai.simulator.lifecycle import SimWorkflow


@dataclass
class Account:
    name: str
    token: str
    balance: int
    charges: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One request as the simulator saw it (never the token)."""

    method: str
    path: str
    query: str
    status: int
    account: str | None
    external_id: str | None = None


class SimulatorState:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.catalog = Catalog(config.catalog)
        self.signer = Signer()
        self.accounts: dict[str, Account] = {}
        self.workflows: dict[str, SimWorkflow] = {}
        self.by_external_id: dict[tuple[str, str], str] = {}
        self.blobs: dict[str, BlobSpec] = {}
        self.image_cache: dict[str, bytes] = {}
        self.request_log: list[LogEntry] = []
        self.submissions_by_external_id: Counter[str] = Counter()
        self.rate_limited = 0
        self._rng = random.Random(config.rate_limit_seed)
        token = config.token or "sim_" + secrets.token_urlsafe(24)
        self.token = token
        self.add_account(token, config.balance, name="default")
        for extra_token, balance in config.accounts.items():
            self.add_account(extra_token, balance)

    def add_account(self, token: str, balance: int, name: str | None = None) -> Account:
        account = Account(name or f"acct-{len(self.accounts) + 1}", token, balance)
        self.accounts[token] = account
        return account

    def account_for(self, authorization: str | None) -> Account | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        return self.accounts.get(authorization[len("Bearer ") :].strip())

    def account_named(self, name: str) -> Account:
        for account in self.accounts.values():
            if account.name == name:
                return account
        raise KeyError(name)

    @property
    def charges_by_account(self) -> dict[str, int]:
        """How many times each account was debited."""
        return {a.name: len(a.charges) for a in self.accounts.values()}

    @property
    def workflows_created(self) -> int:
        return len(self.workflows)

    def should_rate_limit(self) -> bool:
        rate = self.config.rate_limit
        if rate <= 0:
            return False
        limited = rate >= 1 or self._rng.random() < rate
        if limited:
            self.rate_limited += 1
        return limited

    def summary(self) -> dict[str, Any]:
        return {
            "workflows": len(self.workflows),
            "charges": self.charges_by_account,
            "balances": {a.name: a.balance for a in self.accounts.values()},
            "submissionsByExternalId": dict(self.submissions_by_external_id),
            "rateLimited": self.rate_limited,
            "requests": len(self.request_log),
            "workflowsByExternalId": self.workflows_by_external_id(),
            "imagesByWorkflow": {w.id: len(w.blob_ids) for w in self.workflows.values()},
        }

    def workflows_by_external_id(self) -> dict[str, list[str]]:
        """Every workflow created, grouped by its ``externalId`` (idempotency: one each)."""
        grouped: dict[str, list[str]] = {}
        for wf in self.workflows.values():
            if wf.external_id:
                grouped.setdefault(wf.external_id, []).append(wf.id)
        return grouped
