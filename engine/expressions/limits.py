"""Size limits every evaluation obeys, checked before a value is built.

Three bounds keep an uploaded expression from exhausting memory:

- one string, list or tuple is at most :data:`MAX_SEQUENCE_LENGTH` items long, and a repetition or
  concatenation is refused from the lengths of its operands, before it runs;
- one evaluation (one condition, timer or form check, or one whole script run) builds at most
  :data:`MAX_BUILT_BYTES` of strings, lists, tuples and dicts in all, counted before each is built;
- a result, written out in full (as JSON or as text), is at most :data:`MAX_RESULT_ITEMS` items
  and :data:`MAX_RESULT_DEPTH` levels deep, so a list repeating one big list many times cannot be
  kept in the task data.

Text of a value (``str(x)``, ``f"{x}"``) is written piece by piece and refused as soon as it would
pass :data:`MAX_SEQUENCE_LENGTH` characters, however little memory the value itself takes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextvars import ContextVar, Token
from itertools import chain
from typing import Any

from engine.expressions.errors import ExpressionError

MAX_SEQUENCE_LENGTH = 100_000  # longest string, list or tuple an expression may build
MAX_INT_BITS = 1024  # largest integer an expression may build by multiplication
MAX_BUILT_BYTES = 4 * 1024 * 1024  # memory one evaluation may spend on the values it builds
MAX_RESULT_ITEMS = 1_000_000  # characters and entries of a result written out in full
MAX_RESULT_DEPTH = 100  # nesting of lists, tuples and dicts in a result

POINTER_BYTES = 8  # one entry of a list or tuple
ENTRY_BYTES = 64  # one key and value of a dict, with its share of the hash table
OBJECT_BYTES = 64  # the fixed part of any str, list, tuple or dict


class Budget:
    """What is left of :data:`MAX_BUILT_BYTES` for the evaluation under way."""

    __slots__ = ("left",)

    def __init__(self, limit: int = MAX_BUILT_BYTES):
        self.left = limit

    def charge(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise ExpressionError(
                f"the expression builds more than {MAX_BUILT_BYTES // (1024 * 1024)} MB of text and lists"
            )


_BUDGET: ContextVar[Budget | None] = ContextVar("expression_budget", default=None)


def open_budget() -> Token[Budget | None] | None:
    """Start a budget for the evaluation about to run, unless one is running (it is then shared)."""
    if _BUDGET.get() is not None:
        return None
    return _BUDGET.set(Budget())


def close_budget(token: Token[Budget | None] | None) -> None:
    """End the budget :func:`open_budget` started (nothing when it shared a running one)."""
    if token is not None:
        _BUDGET.reset(token)


def charge(size: int) -> None:
    """Count ``size`` bytes against the running evaluation's budget (if any) before building them."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(size)


def too_long() -> ExpressionError:
    return ExpressionError(f"result longer than {MAX_SEQUENCE_LENGTH} items")


def char_bytes(text: str) -> int:
    """Bytes per character CPython may need for ``text`` (1 for ASCII, at most 4 otherwise)."""
    return 1 if text.isascii() else 4


def sequence_bytes(kind: Any, length: int) -> int:
    """Upper bound of the memory of a new sequence like ``kind`` with ``length`` items."""
    if isinstance(kind, str):
        return OBJECT_BYTES + length * char_bytes(kind)
    return OBJECT_BYTES + length * POINTER_BYTES


def check_length(kind: Any, length: int) -> None:
    """Refuse, then charge, a new str, list or tuple like ``kind`` of ``length`` items."""
    if length > MAX_SEQUENCE_LENGTH:
        raise too_long()
    charge(sequence_bytes(kind, max(length, 0)))


def repeat(sequence: Any, count: int) -> Any:
    """``sequence * count``, refused from the lengths before anything is built."""
    check_length(sequence, len(sequence) * count)
    return sequence * count


def concatenate(a: Any, b: Any) -> Any:
    """``a + b`` of two sequences, refused from the lengths before anything is built."""
    length = len(a) + len(b)
    if length > MAX_SEQUENCE_LENGTH:
        raise too_long()
    if isinstance(a, str) and isinstance(b, str):
        charge(OBJECT_BYTES + length * max(char_bytes(a), char_bytes(b)))
    else:
        charge(OBJECT_BYTES + length * POINTER_BYTES)
    return a + b


def text_of(value: Any, limit: int = MAX_SEQUENCE_LENGTH) -> str:
    """``str(value)`` as Python writes it, refused as soon as it would pass ``limit`` characters."""
    if type(value) is str:
        if len(value) > limit:
            raise too_long()
        return value
    writer = _Writer(limit)
    writer.value(value, top=True)
    text = writer.getvalue()
    charge(OBJECT_BYTES + len(text) * char_bytes(text))
    return text


class _Writer:
    """Writes the text of a value; raises once more than ``limit`` characters would be written."""

    def __init__(self, limit: int):
        self.out = io.StringIO()
        self.left = limit
        self.depth = 0

    def getvalue(self) -> str:
        return self.out.getvalue()

    def write(self, text: str) -> None:
        self.left -= len(text)
        if self.left < 0:
            raise ExpressionError(f"text of the value longer than {MAX_SEQUENCE_LENGTH} characters")
        self.out.write(text)

    def value(self, value: Any, top: bool = False) -> None:
        kind = type(value)
        if kind is str:
            if top:
                self.write(value)
            elif len(value) + 2 > self.left:
                raise ExpressionError(f"text of the value longer than {MAX_SEQUENCE_LENGTH} characters")
            else:
                self.write(repr(value))
        elif value is None or kind in (bool, int, float):
            self.write(repr(value))
        elif kind in (list, tuple, dict):
            self.depth += 1
            if self.depth > MAX_RESULT_DEPTH:
                raise ExpressionError(f"value nested deeper than {MAX_RESULT_DEPTH} levels")
            if kind is dict:
                self._dict(value)
            else:
                self._sequence(value)
            self.depth -= 1
        else:
            # Values of other types come from the caller's data, never from the expression.
            self.write(str(value) if top else repr(value))

    def _sequence(self, items: list[Any] | tuple[Any, ...]) -> None:
        opening, closing = ("[", "]") if type(items) is list else ("(", ")")
        self.write(opening)
        for index, item in enumerate(items):
            if index:
                self.write(", ")
            self.value(item)
        if type(items) is tuple and len(items) == 1:
            self.write(",")
        self.write(closing)

    def _dict(self, mapping: dict[Any, Any]) -> None:
        self.write("{")
        for index, (key, item) in enumerate(mapping.items()):
            if index:
                self.write(", ")
            self.value(key)
            self.write(": ")
            self.value(item)
        self.write("}")


def check_result(value: Any) -> Any:
    """Refuse a value that, written out in full, would be too large or too deep; else return it.

    Lists may hold the same list many times over at little cost in memory; JSON of the task data
    or the text of the value would still write every copy, so the count is of the written form.
    """
    if not isinstance(value, list | tuple | dict):
        return value
    return _checked_container(value)


def _checked_container(value: Any) -> Any:
    total = 0
    stack: list[Iterator[Any]] = [iter((value,))]
    while stack:
        for item in stack[-1]:
            total += len(item) if isinstance(item, str) else 1
            if total > MAX_RESULT_ITEMS:
                raise ExpressionError(f"result larger than {MAX_RESULT_ITEMS} items when written out")
            if isinstance(item, list | tuple):
                stack.append(iter(item))
            elif isinstance(item, dict):
                stack.append(chain.from_iterable(item.items()))
            else:
                continue
            if len(stack) > MAX_RESULT_DEPTH + 1:
                raise ExpressionError(f"result nested deeper than {MAX_RESULT_DEPTH} levels")
            break
        else:
            stack.pop()
    return value
