"""Loop pacing: how long to wait before re-entering a step that already ran in this run.

A pace is a schedule of delays in seconds; the n-th re-entry of a step waits ``schedule[n-1]``
(the last entry repeats). ``Retry-After`` from the step's previous response overrules the
schedule. Spelled on the command line (``--pace``) and in the ``x-weft-pace`` step extension
as ``off``, a number (fixed delay) or a comma-separated list (``1,2,5,10``).
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from weft.errors import UsageError

DEFAULT_SCHEDULE: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True, slots=True)
class Pace:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE

    @property
    def off(self) -> bool:
        return not self.schedule

    def delay(self, reentry: int) -> float:
        """Delay before the ``reentry``-th re-entry (1-based)."""
        if not self.schedule or reentry <= 0:
            return 0.0
        return self.schedule[min(reentry, len(self.schedule)) - 1]

    def spec(self) -> str:
        return "off" if self.off else ",".join(f"{d:g}" for d in self.schedule)


DEFAULT_PACE = Pace()


def parse_pace(value: Any, *, where: str = "--pace") -> Pace:
    """A :class:`Pace` from ``off``/``none``/``default``, a number, a list or ``"1,2,5"``."""
    if value is None or isinstance(value, Pace):
        return value or DEFAULT_PACE
    if value is False:
        return Pace(())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Pace((float(value),)) if value > 0 else Pace(())
    items: Sequence[Any]
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("off", "none", "0", "false", ""):
            return Pace(())
        if text == "default":
            return DEFAULT_PACE
        items = [p for p in text.split(",") if p.strip()]
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise UsageError(f"invalid pace {value!r}", where=where, hint="use off, 2, or 1,2,5,10")
    try:
        delays = tuple(float(x) for x in items)
    except (TypeError, ValueError) as exc:
        raise UsageError(
            f"invalid pace {value!r}", where=where, why=str(exc), hint="use off, 2, or 1,2,5,10"
        ) from exc
    if not all(0 <= d < math.inf for d in delays):  # also nan: a wait that never ends
        raise UsageError(
            f"invalid pace {value!r}", where=where, why="delays must be finite numbers >= 0"
        )
    return Pace(delays)


def parse_retry_after(value: str | None, now_wall: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), capped."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - now_wall
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


__all__ = ["DEFAULT_PACE", "DEFAULT_SCHEDULE", "Pace", "parse_pace", "parse_retry_after"]
