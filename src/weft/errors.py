"""User-facing errors.

Every failure a user can cause is a :class:`WeftError`: one message saying what failed, where,
why, and what to do. The CLI prints ``str(error)`` and exits with ``error.exit_code``; it never
shows a traceback for these.
"""

from __future__ import annotations


class WeftError(Exception):
    """A failure with a clear, user-facing explanation."""

    exit_code: int = 2
    # the cause may pass by itself (no answer, a busy or failing server): a batch tries the
    # row again after a pause (``BatchOptions.transient_resumes``) instead of failing it
    transient: bool = False

    def __init__(
        self,
        what: str,
        *,
        where: str | None = None,
        why: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.what = what
        self.where = where
        self.why = why
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.where}: {self.what}" if self.where else self.what
        parts = [head]
        if self.why:
            parts.append(f"  why: {self.why}")
        if self.hint:
            parts.append(f"  fix: {self.hint}")
        return "\n".join(parts)


class DocumentError(WeftError):
    """The document (or one of its sources) could not be read or parsed. Exit code 2."""

    exit_code = 2


class UsageError(WeftError):
    """The command or library call was used wrongly (bad option, bad input value). Exit code 2."""

    exit_code = 2


class StoreError(WeftError):
    """The run store cannot be used (corrupt, locked, full, foreign). Exit code 2."""

    exit_code = 2
