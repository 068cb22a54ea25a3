"""Sending one request again when no answer came (or, for callers that ask, a 5xx/429 answer),
after a growing, jittered wait: the one resend loop of weft (the step executor and the Civitai
command's own requests use it).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from typing import Protocol

from weft.effects import Clock, HttpRequest, HttpResponse, Transport, TransportError
from weft.effects.http import TransportErrorKind
from weft.engine.options import RetryPolicy
from weft.engine.pacing import parse_retry_after

RETRYABLE_TRANSPORT = frozenset(
    {TransportErrorKind.CONNECT, TransportErrorKind.TIMEOUT, TransportErrorKind.RESET}
)
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

Waiting = Callable[[float, int, str], None]
"""``on_wait(delay, next_try, why)``: called before each wait (for progress lines)."""


class Draw(Protocol):
    """Where the jitter comes from (a :class:`random.Random`, or anything drawing the same)."""

    def uniform(self, a: float, b: float) -> float: ...


async def send_with_retries(
    transport: Transport,
    request: HttpRequest,
    *,
    policy: RetryPolicy,
    clock: Clock,
    rng: Draw | None = None,
    statuses: Collection[int] = (),
    max_retry_after: float = 60.0,
    on_wait: Waiting | None = None,
) -> HttpResponse:
    """Send ``request``; when no answer comes (connection refused or reset, timeout), or the
    answer's status is one of ``statuses``, try again, at most ``policy.attempts`` tries in all.

    The n-th retry waits a random time up to ``policy.ceiling(n)`` ("full jitter"), or what the
    answer's ``Retry-After`` says (at most ``max_retry_after``). The last answer is returned
    whatever its status; when the last try got no answer its :class:`TransportError` is raised.
    Only call it for a request that is safe to send again.
    """
    draw: Draw = rng or random.Random()
    tries = max(policy.attempts, 1)
    for attempt in range(1, tries + 1):
        try:
            response = await transport.send(request)
        except TransportError as exc:
            if attempt == tries or exc.kind not in RETRYABLE_TRANSPORT:
                raise
            why = f"no answer ({exc.kind})"
            delay = draw.uniform(0.0, policy.ceiling(attempt))
        else:
            if response.status not in statuses or attempt == tries:
                return response
            why = f"answer {response.status}"
            header = parse_retry_after(response.headers.get("retry-after"), clock.time())
            if header is not None:
                delay = min(header, max_retry_after)
            else:
                delay = draw.uniform(0.0, policy.ceiling(attempt))
        if on_wait is not None:
            on_wait(delay, attempt + 1, why)
        await clock.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = ["RETRYABLE_TRANSPORT", "TRANSIENT_STATUSES", "Waiting", "send_with_retries"]
