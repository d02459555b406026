"""Scripts: one ``name = expression`` assignment per statement, nothing else."""

from __future__ import annotations

import ast
import functools
from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from typing import Any

from engine.expressions.compiler import Expression, Functions, compile_tree
from engine.expressions.errors import ExpressionError
from engine.expressions.limits import close_budget, open_budget

MAX_SCRIPT_CHARS = 100_000
MAX_CACHED_CHARS = 4_000

_STATEMENT_NAMES = {
    ast.Expr: "a bare expression",
    ast.AugAssign: "an augmented assignment (+= …)",
    ast.AnnAssign: "an annotated assignment",
    ast.Import: "an import",
    ast.ImportFrom: "an import",
    ast.FunctionDef: "a function definition",
    ast.AsyncFunctionDef: "a function definition",
    ast.ClassDef: "a class definition",
    ast.For: "a loop",
    ast.AsyncFor: "a loop",
    ast.While: "a loop",
    ast.If: "an if statement",
    ast.With: "a with statement",
    ast.AsyncWith: "a with statement",
    ast.Try: "a try statement",
    ast.Raise: "a raise statement",
    ast.Delete: "a del statement",
    ast.Global: "a global statement",
    ast.Nonlocal: "a nonlocal statement",
    ast.Return: "a return statement",
    ast.Assert: "an assert statement",
    ast.Pass: "a pass statement",
}


class Script:
    """A compiled script; :meth:`run` assigns each value into the task data in order."""

    __slots__ = ("text", "assignments")

    def __init__(self, text: str, assignments: tuple[tuple[str, Expression, int], ...]):
        self.text = text
        self.assignments = assignments  # (target name, value, line)

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(target for target, _, _ in self.assignments)

    @property
    def names(self) -> frozenset[str]:
        """Names the script reads before (or without) assigning them itself."""
        assigned: set[str] = set()
        read: set[str] = set()
        for target, expression, _ in self.assignments:
            read |= expression.names - assigned
            assigned.add(target)
        return frozenset(read)

    @property
    def functions(self) -> frozenset[str]:
        return frozenset().union(*(expression.functions for _, expression, _ in self.assignments))

    def run(
        self,
        data: MutableMapping[str, Any],
        functions: Functions | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Assign into ``data``; names are read from ``data`` first, then from ``context``.

        All statements of one run share one budget of memory for the values they build.
        """
        names = ChainMap(data, context) if context else data
        budget = open_budget()
        try:
            for target, expression, line in self.assignments:
                try:
                    data[target] = expression.evaluate(names, functions)
                except ExpressionError as exc:
                    exc.line = line
                    raise
        finally:
            close_budget(budget)

    def __repr__(self) -> str:
        return f"Script({self.text!r})"


def compile_script(text: str) -> Script:
    """Parse and check a script; raise :class:`ExpressionError` naming the offending line."""
    if not isinstance(text, str):
        raise ExpressionError(f"a script must be text, not {type(text).__name__}")
    if len(text) <= MAX_CACHED_CHARS:
        return _compile_cached(text)
    return _compile(text)


@functools.lru_cache(maxsize=1024)
def _compile_cached(text: str) -> Script:
    return _compile(text)


def _compile(text: str) -> Script:
    if len(text) > MAX_SCRIPT_CHARS:
        raise ExpressionError(f"script longer than {MAX_SCRIPT_CHARS} characters")
    # Modelers indent script text inside the XML; statements here never open blocks.
    source = "\n".join(line.strip() for line in text.strip().splitlines())
    if not source:
        raise ExpressionError("empty script")
    try:
        module = ast.parse(source, mode="exec")
    except SyntaxError as exc:
        lines = source.splitlines()
        shown = lines[exc.lineno - 1] if exc.lineno and exc.lineno <= len(lines) else None
        raise ExpressionError(f"syntax error: {exc.msg}", shown, exc.offset, exc.lineno) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(f"cannot parse: {exc or 'too complex'}") from None
    assignments = tuple(_assignment(statement, source) for statement in module.body)
    return Script(source, assignments)


def _assignment(statement: ast.stmt, source: str) -> tuple[str, Expression, int]:
    line = statement.lineno
    shown = ast.get_source_segment(source, statement)
    if not isinstance(statement, ast.Assign):
        kind = _STATEMENT_NAMES.get(type(statement), f"a {type(statement).__name__} statement")
        raise ExpressionError(f"only assignments `name = expression` are allowed, not {kind}", shown, line=line)
    if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
        raise ExpressionError("only assignments to a single plain name are allowed", shown, line=line)
    target = statement.targets[0].id
    if target.startswith("_"):
        raise ExpressionError(f"name '{target}' (names starting with '_') is not allowed", shown, line=line)
    return target, compile_tree(statement.value, source, line), line
