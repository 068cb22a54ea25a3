"""How a run behaves: one frozen :class:`RunOptions` value, built once at the boundary (the
library call, the command line, a batch) and recorded with the run so resume behaves the same.

```python
options = RunOptions.build(servers={"api": "http://127.0.0.1:8080"}, pace="1,2,5", timeout=60)
options.to_snapshot()                     # what the run store keeps (camelCase JSON)
RunOptions.from_snapshot(recorded)        # the same options back, on resume
```
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from weft.engine.credentials import EMPTY_AUTH, AuthConfig
from weft.engine.pacing import DEFAULT_PACE, Pace, parse_pace
from weft.engine.response_checks import NO_CHECKS, ResponseChecks
from weft.errors import UsageError

DEFAULT_MAX_STEPS = 1000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Automatic retries of a request that got no answer at all (connection refused or reset,
    timeout) when sending it again is safe (an idempotent method, or an idempotency key).

    ``attempts`` counts every try (1 = never retry). The n-th retry waits a random time up to
    ``min(cap, base * 2**(n-1))`` seconds ("full jitter"), so many runs hit by the same outage
    do not come back at once. A request that is not resend-safe is never retried this way.
    """

    attempts: int = 5
    base: float = 1.0
    cap: float = 30.0

    def ceiling(self, retry: int) -> float:
        """The longest wait before the ``retry``-th retry (1-based)."""
        return min(self.cap, self.base * float(2 ** max(retry - 1, 0)))

    def to_snapshot(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "base": self.base, "cap": self.cap}

    @classmethod
    def from_snapshot(cls, d: Any) -> RetryPolicy:
        if not isinstance(d, Mapping):
            return DEFAULT_RETRY
        try:
            return cls(int(d["attempts"]), float(d["base"]), float(d["cap"]))
        except (KeyError, TypeError, ValueError):
            return DEFAULT_RETRY


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Everything that shapes a run besides its document, inputs and effects.

    ``servers``: a source's server URL by source name. ``strict``: read expressions exactly as
    the specification words them (no compatibility readings). ``max_steps``: bound on step
    executions. ``timeout``: bound on the run's duration in seconds. ``pace``: delays before a
    step runs again (loops). ``resend``: on resume, send a request of unknown outcome again.
    ``retry``: automatic retries of resend-safe requests that got no answer. ``auth``: the
    credentials for the sources' security schemes (never recorded: resume is given them
    again). ``checks``: which answers are checked against the description.
    """

    servers: Mapping[str, str] = field(default_factory=dict)
    strict: bool = False
    max_steps: int = DEFAULT_MAX_STEPS
    timeout: float | None = None
    pace: Pace = DEFAULT_PACE
    resend: bool = False
    retry: RetryPolicy = DEFAULT_RETRY
    auth: AuthConfig = EMPTY_AUTH
    checks: ResponseChecks = NO_CHECKS

    @classmethod
    def build(
        cls,
        options: RunOptions | None = None,
        *,
        servers: Mapping[str, str] | None = None,
        strict: bool | None = None,
        max_steps: int | None = None,
        timeout: float | None = None,
        pace: Pace | str | float | list[float] | None = None,
        resend: bool | None = None,
        retry: RetryPolicy | int | None = None,
        auth: AuthConfig | Mapping[str, Any] | None = None,
        checks: ResponseChecks | bool | None = None,
    ) -> RunOptions:
        """``options`` (default: the defaults) with the given values checked and applied:
        the one place where loose values (a pace spelled ``"1,2,5"``, retries as a count)
        become a :class:`RunOptions`. A bad value is a :class:`~weft.errors.UsageError`."""
        base = options or DEFAULT_OPTIONS
        changes: dict[str, Any] = {}
        if servers is not None:
            changes["servers"] = _servers(servers)
        if strict is not None:
            changes["strict"] = bool(strict)
        if max_steps is not None:
            if not _count(max_steps):
                raise UsageError(
                    f"max steps must be a whole number from 1 to {_COUNT_MAX}, not {max_steps!r}",
                    hint="--max-steps 1000",
                )
            changes["max_steps"] = max_steps
        if timeout is not None:
            if (
                isinstance(timeout, bool)
                or not isinstance(timeout, int | float)
                or not math.isfinite(timeout)
                or timeout <= 0
            ):
                raise UsageError(
                    f"timeout must be a positive number of seconds, not {timeout!r}",
                    hint="--timeout 60",
                )
            changes["timeout"] = float(timeout)
        if pace is not None:
            changes["pace"] = parse_pace(pace)
        if resend is not None:
            changes["resend"] = bool(resend)
        if retry is not None:
            changes["retry"] = _retry(retry)
        if auth is not None:
            changes["auth"] = auth if isinstance(auth, AuthConfig) else AuthConfig.build(auth)
        if checks is not None:
            changes["checks"] = (
                checks if isinstance(checks, ResponseChecks) else ResponseChecks.build(checks)
            )
        return replace(base, **changes) if changes else base

    def to_snapshot(self) -> dict[str, Any]:
        """The options as the run store keeps them (``resend`` is a choice of each resume;
        credentials are never kept)."""
        d: dict[str, Any] = {
            "servers": dict(self.servers),
            "strict": self.strict,
            "maxSteps": self.max_steps,
            "timeout": self.timeout,
            "pace": self.pace.spec(),
            "retry": self.retry.to_snapshot(),
        }
        checks = self.checks.to_snapshot()
        if checks is not None:
            d["checks"] = checks
        return d

    @classmethod
    def from_snapshot(cls, d: Mapping[str, Any] | None) -> RunOptions:
        """The options a run was recorded with (defaults for what an older record lacks)."""
        if not isinstance(d, Mapping):
            return DEFAULT_OPTIONS
        servers = d.get("servers")
        max_steps = d.get("maxSteps")
        timeout = d.get("timeout")
        try:
            pace = parse_pace(d.get("pace"))
        except UsageError:
            pace = DEFAULT_PACE
        return cls(
            servers={str(k): str(v) for k, v in servers.items()}
            if isinstance(servers, Mapping)
            else {},
            strict=bool(d.get("strict", False)),
            max_steps=max_steps if isinstance(max_steps, int) and max_steps > 0 else 1000,
            timeout=float(timeout) if isinstance(timeout, int | float) and timeout > 0 else None,
            pace=pace,
            retry=RetryPolicy.from_snapshot(d.get("retry")),
            checks=ResponseChecks.from_snapshot(d.get("checks")),
        )


DEFAULT_OPTIONS = RunOptions()


def _servers(servers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, url in servers.items():
        if not isinstance(name, str) or not isinstance(url, str) or not name or not url:
            raise UsageError(
                f"a server override must name a source and a URL, not {name!r}={url!r}",
                hint="servers={'api': 'http://127.0.0.1:8080'} (--server api=http://...)",
            )
        out[name] = url
    return out


_COUNT_MAX = 2**63 - 1  # what the run store (64-bit JSON numbers) keeps


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= _COUNT_MAX


def _retry(value: RetryPolicy | int) -> RetryPolicy:
    if isinstance(value, RetryPolicy):
        return value
    if not _count(value):
        raise UsageError(
            f"retries must be a whole number of tries from 1 to {_COUNT_MAX}, not {value!r}",
            hint="--retries 5 (1 = never retry)",
        )
    return replace(DEFAULT_RETRY, attempts=value)


__all__ = ["DEFAULT_OPTIONS", "DEFAULT_RETRY", "NO_RETRY", "RetryPolicy", "RunOptions"]
