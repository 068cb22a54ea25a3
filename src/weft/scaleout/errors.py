"""The failures of scaling out: the queue's database, DBOS, a worker's configuration."""

from __future__ import annotations

from weft.errors import WeftError


class QueueError(WeftError):
    """The shared queue cannot be used (its database unreachable, DBOS missing or failing, its
    tables too new). Exit code 2."""

    exit_code = 2


__all__ = ["QueueError"]
