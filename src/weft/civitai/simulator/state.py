"""Everything the simulator remembers while it runs: accounts and their Buzz, workflows, blobs,
every submit body received, and request counts per operation."""

from __future__ import annotations

import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from weft.civitai.simulator.blobs import BlobSpec, Signer
from weft.civitai.simulator.catalog import Catalog
from weft.civitai.simulator.config import AccountSpec, SimulatorConfig
from weft.civitai.simulator.lifecycle import SimWorkflow

# the order Buzz is spent in when a workflow does not restrict its currencies (docs)
SPEND_ORDER = ("blue", "green", "yellow")
SFW_ONLY = frozenset({"blue", "green"})


@dataclass
class Account:
    name: str
    token: str
    user_id: int
    wallet: dict[str, int]  # currency -> Buzz
    scopes: frozenset[str]
    allow_mature: bool = True
    charges: list[int] = field(default_factory=list)  # the total of each debit

    @property
    def balance(self) -> int:
        """Buzz across every currency."""
        return sum(self.wallet.values())

    def plan(
        self, total: int, currencies: list[str] | None, mature: bool
    ) -> tuple[list[tuple[str, int]], bool]:
        """How ``total`` would be split across currencies (blue, green, yellow unless
        ``currencies`` restricts them; yellow only for mature content) and whether it is
        covered. When it is not, the remainder is shown on the last usable currency."""
        usable = [c for c in SPEND_ORDER if currencies is None or c in currencies]
        if mature:
            usable = [c for c in usable if c not in SFW_ONLY]
        split: list[tuple[str, int]] = []
        left = total
        for currency in usable:
            take = min(left, max(0, self.wallet.get(currency, 0)))
            if take:
                split.append((currency, take))
                left -= take
        if left and usable:
            last = usable[-1]
            split = [(c, a + left) if c == last else (c, a) for c, a in split]
            if all(c != last for c, _ in split):
                split.append((last, left))
        return split, (left == 0 and bool(usable)) or total == 0

    def debit(self, split: list[tuple[str, int]]) -> None:
        for currency, amount in split:
            self.wallet[currency] = self.wallet.get(currency, 0) - amount
        self.charges.append(sum(amount for _, amount in split))


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One request as the simulator saw it (never the token)."""

    method: str
    path: str
    query: str
    status: int  # 0: the connection was reset without an answer
    account: str | None
    external_id: str | None = None
    operation: str = ""
    fault: str | None = None  # the injected fault, if any


@dataclass(frozen=True, slots=True)
class Submission:
    """One ``POST /v2/consumer/workflows`` exactly as received, and how it was answered."""

    account: str | None  # the account's name; None when the token was missing or unknown
    body: bytes  # the exact bytes received
    query: str
    status: int  # 0: the connection was reset without an answer
    whatif: bool
    external_id: str | None  # the client's value (not the stored "{userId}-{value}")
    workflow_id: str | None  # the workflow created or returned, if any
    fault: str | None = None

    @property
    def json(self) -> Any:
        """The body parsed (None when it is not JSON)."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None


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
        self.submissions: list[Submission] = []
        self.submissions_by_external_id: Counter[str] = Counter()
        self.requests_by_operation: Counter[str] = Counter()
        self.requests_by_class: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self.rate_limited = 0
        self._rng = random.Random(config.rate_limit_seed)
        self.fault_rng = random.Random(config.fault_seed)
        self.blocked_rng = random.Random(config.fault_seed + 1)
        token = config.token or "sim_" + secrets.token_urlsafe(24)
        self.token = token
        self.add_account(
            token,
            AccountSpec(config.balance, config.blue_balance, 0, config.scopes,
                        config.allow_mature, "default"),
        )  # fmt: skip
        for extra_token, spec in config.accounts.items():
            self.add_account(extra_token, spec)

    def add_account(self, token: str, spec: int | AccountSpec) -> Account:
        if isinstance(spec, int):
            spec = AccountSpec(balance=spec)
        number = len(self.accounts) + 1
        account = Account(
            name=spec.name or f"acct-{number}",
            token=token,
            user_id=5_000_000 + number,
            wallet={"yellow": spec.balance, "blue": spec.blue, "green": spec.green},
            scopes=frozenset(spec.scopes),
            allow_mature=spec.allow_mature,
        )
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

    # ---- what tests assert on ------------------------------------------------------------------

    @property
    def charges_by_account(self) -> dict[str, int]:
        """How many times each account was debited."""
        return {a.name: len(a.charges) for a in self.accounts.values()}

    @property
    def workflows_created(self) -> int:
        """Workflows created by real submits (whatif previews excluded)."""
        return sum(1 for wf in self.workflows.values() if not wf.preview)

    def submissions_for(self, account: str) -> list[Submission]:
        """Every submit received from the account named ``account``, in order."""
        return [s for s in self.submissions if s.account == account]

    def workflows_of(self, account: str) -> list[SimWorkflow]:
        return [wf for wf in self.workflows.values() if wf.account == account and not wf.preview]

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
            "workflows": self.workflows_created,
            "previews": sum(1 for wf in self.workflows.values() if wf.preview),
            "charges": self.charges_by_account,
            "balances": {a.name: a.balance for a in self.accounts.values()},
            "submissions": len(self.submissions),
            "submissionsByExternalId": dict(self.submissions_by_external_id),
            "rateLimited": self.rate_limited,
            "faults": dict(self.faults_injected),
            "requests": len(self.request_log),
            "requestsByOperation": dict(self.requests_by_operation),
            "workflowsByExternalId": self.workflows_by_external_id(),
            "imagesByWorkflow": {
                w.id: len(w.blob_ids) for w in self.workflows.values() if not w.preview
            },
        }

    def workflows_by_external_id(self) -> dict[str, list[str]]:
        """Every workflow created by a real submit, grouped by its client ``externalId``
        (idempotency: one each)."""
        grouped: dict[str, list[str]] = {}
        for wf in self.workflows.values():
            if wf.external_id and not wf.preview:
                grouped.setdefault(wf.external_id, []).append(wf.id)
        return grouped
