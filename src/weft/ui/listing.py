"""The run list's query: filters and page, read from a URL's query string and written back into
links (a page's filters survive paging; a link never carries anything but these fields)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from weft.errors import UsageError
from weft.store.records import RUN_STATUSES

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class RunFilter:
    """``status``, ``workflow`` (exact id), ``labels`` (all must match), the page (``before``:
    the cursor of the previous page's last run) and its size."""

    status: str | None = None
    workflow: str | None = None
    labels: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    before: str | None = None
    limit: int = DEFAULT_LIMIT

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.workflow or self.labels)

    def query(self, **changes: object) -> str:
        """The query string of this filter with ``changes`` (``before=None``: first page)."""
        target = replace(self, **changes) if changes else self  # type: ignore[arg-type]
        pairs: list[tuple[str, str]] = []
        if target.status:
            pairs.append(("status", target.status))
        if target.workflow:
            pairs.append(("workflow", target.workflow))
        pairs.extend(("label", f"{k}={v}") for k, v in target.labels)
        if target.before:
            pairs.append(("before", target.before))
        if target.limit != DEFAULT_LIMIT:
            pairs.append(("limit", str(target.limit)))
        return "?" + urlencode(pairs) if pairs else ""


def parse_filter(
    query: Mapping[str, str], labels: list[str], fixed: Mapping[str, str] | None = None
) -> RunFilter:
    """A :class:`RunFilter` from a query string (``labels``: every ``label`` value, each
    ``name=value``); ``fixed`` labels are added (a batch page's ``batch``). A value that cannot
    be read is a :class:`~weft.errors.UsageError` (the page says it)."""
    status = (query.get("status") or "").strip() or None
    if status is not None and status not in RUN_STATUSES:
        raise UsageError(f"unknown status {status!r}", hint=f"one of: {', '.join(RUN_STATUSES)}")
    workflow = (query.get("workflow") or "").strip() or None
    pairs: list[tuple[str, str]] = []
    for text in labels:
        text = text.strip()
        if not text:
            continue
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"cannot read the label filter {text!r}", hint="write name=value")
        pairs.append((name.strip(), value.strip()))
    for name, value in (fixed or {}).items():
        if (name, value) not in pairs:
            pairs.append((name, value))
    limit_text = (query.get("limit") or "").strip()
    limit = DEFAULT_LIMIT
    if limit_text:
        try:
            limit = int(limit_text)
        except ValueError:
            raise UsageError(f"cannot read the page size {limit_text!r}") from None
        limit = max(1, min(limit, MAX_LIMIT))
    before = (query.get("before") or "").strip() or None
    return RunFilter(status, workflow, tuple(pairs), before, limit)


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "RunFilter", "parse_filter"]
