"""The one error type of the expression language."""

from __future__ import annotations

from engine.errors import PowerlistError

MAX_SHOWN_CHARS = 200


class ExpressionError(PowerlistError):
    """An expression or script that is not allowed, does not parse, or failed while evaluating.

    ``offset`` is the 1-based column of the offending part (None when unknown); ``line`` is the
    1-based line inside a script (None for single expressions).
    """

    def __init__(
        self,
        message: str,
        expression: str | None = None,
        offset: int | None = None,
        line: int | None = None,
    ):
        self.message = message
        self.expression = expression
        self.offset = offset
        self.line = line
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.offset is not None:
            where.append(f"column {self.offset}")
        text = self.message
        if where:
            text += f" ({', '.join(where)})"
        if self.expression is not None:
            shown = self.expression
            if len(shown) > MAX_SHOWN_CHARS:
                shown = shown[:MAX_SHOWN_CHARS] + "…"
            text += f" in `{shown}`"
        return text
