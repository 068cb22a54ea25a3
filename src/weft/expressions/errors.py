"""The one error type of the expression parsers."""

from __future__ import annotations


class ExpressionError(Exception):
    """Text that is not a valid runtime expression, template, pointer or condition.

    ``message`` says what is wrong, ``position`` is the 0-based offset in ``text`` where it
    went wrong (``None`` when it is not about one place).
    """

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        self.message = message
        self.text = text
        self.position = position
        where = f" at offset {position}" if position is not None else ""
        shown = f" in {text!r}" if text else ""
        super().__init__(f"{message}{where}{shown}")
