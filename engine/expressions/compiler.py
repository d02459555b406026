"""Compile the safe expression language into a tree of closures.

The text is parsed with :func:`ast.parse` and every node is checked against an allowlist; the
result is built from Python closures, never from ``compile()``/``eval()``. Anything outside the
allowlist is rejected here, before any value is computed.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

from engine.expressions.errors import ExpressionError
from engine.expressions.functions import BUILTIN_FUNCTIONS, FORBIDDEN_FUNCTIONS
from engine.expressions.limits import (
    ENTRY_BYTES,
    MAX_INT_BITS,
    MAX_SEQUENCE_LENGTH,
    OBJECT_BYTES,
    POINTER_BYTES,
    charge,
    check_length,
    check_result,
    close_budget,
    concatenate,
    open_budget,
    repeat,
    text_of,
)

MAX_EXPRESSION_CHARS = 10_000
MAX_DEPTH = 100
MAX_CACHED_CHARS = 1_000

Names = Mapping[str, Any]
Functions = Mapping[str, Callable[..., Any]]
Node = Callable[[Names, Functions], Any]

_NO_FUNCTIONS: Functions = {}

_REJECTED = {
    ast.Lambda: "lambda",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
    ast.NamedExpr: "assignment expression (:=)",
    ast.Starred: "starred expression (*x)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Set: "set literal",
    ast.Slice: "slice",
}

_BINARY_SYMBOLS = {
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.MatMult: "@",
}

_COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}

_SEQUENCES = (str, list, tuple)
_CONTAINERS = frozenset((list, tuple, dict))


class Expression:
    """A compiled expression: evaluate it as often as needed, it holds no state."""

    __slots__ = ("text", "names", "functions", "_node")

    def __init__(self, text: str, names: frozenset[str], functions: frozenset[str], node: Node):
        self.text = text
        self.names = names  # free variable names
        self.functions = functions  # names of the functions it calls
        self._node = node

    def evaluate(self, names: Names, functions: Functions | None = None) -> Any:
        """Value of the expression for ``names`` (task data); ``functions`` adds e.g. ``rule``.

        Everything the evaluation builds counts against one budget (see :mod:`.limits`), shared
        with the script or evaluation this one runs inside.
        """
        budget = open_budget()
        try:
            value = self._node(names, functions or _NO_FUNCTIONS)
            return check_result(value) if type(value) in _CONTAINERS else value
        except ExpressionError as exc:
            if exc.expression is None:
                exc.expression = self.text
            raise
        except RecursionError:
            raise ExpressionError("value nested too deeply", self.text) from None
        except Exception as exc:
            raise ExpressionError(_describe(exc), self.text) from exc
        finally:
            close_budget(budget)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def _describe(exc: Exception) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def compile_expression(text: str) -> Expression:
    """Parse and check ``text``; raise :class:`ExpressionError` for anything not allowed.

    Results are cached by text (only short texts, so uploads cannot fill memory with them).
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, not {type(text).__name__}")
    if len(text) <= MAX_CACHED_CHARS:
        return _compile_cached(text)
    return _compile(text)


@functools.lru_cache(maxsize=4096)
def _compile_cached(text: str) -> Expression:
    return _compile(text)


def _compile(text: str) -> Expression:
    source = text.strip()
    tree = parse_expression(source)
    return compile_tree(tree.body, source)


def parse_expression(source: str) -> ast.Expression:
    if not source:
        raise ExpressionError("empty expression", source)
    if len(source) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        return ast.parse(source, mode="eval")
    except SyntaxError as exc:
        if "\n" in source:
            # An expression written over several lines reads as one when parenthesised.
            try:
                return ast.parse(f"({source}\n)", mode="eval")
            except SyntaxError:
                pass
        # CPython reports offset 0 when the expression ends too early.
        offset = exc.offset if exc.offset else len(source) + 1
        raise ExpressionError(f"syntax error: {exc.msg}", source, offset) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(f"cannot parse: {exc or 'too complex'}", source) from None


def compile_tree(node: ast.expr, source: str, line: int | None = None) -> Expression:
    """Compile an already parsed expression node.

    ``source`` is the text the node was parsed from; ``line`` is set when that text is a script
    and the node one of its statements.
    """
    text = source if line is None else (ast.get_source_segment(source, node) or source)
    compiler = _Compiler(source, line)
    body = compiler.compile(node)
    return Expression(text, frozenset(compiler.names), frozenset(compiler.functions), body)


class _Compiler:
    def __init__(self, source: str, line: int | None):
        self.source = source
        self.line = line
        self.lines = source.splitlines() or [""]
        self.shown = source if line is None else self._line_text(line).strip() or source
        self.names: set[str] = set()
        self.functions: set[str] = set()
        self.depth = 0

    def reject(self, what: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(f"{what} is not allowed", self.shown, self.column(node), self.line)

    def column(self, node: ast.AST) -> int | None:
        lineno = getattr(node, "lineno", None)
        col = getattr(node, "col_offset", None)
        if lineno is None or col is None:
            return None
        # col_offset counts UTF-8 bytes; report characters.
        return len(self._line_text(lineno).encode()[:col].decode("utf-8", "ignore")) + 1

    def _line_text(self, lineno: int) -> str:
        return self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""

    def compile(self, node: ast.AST) -> Node:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise self.reject(f"nesting deeper than {MAX_DEPTH} levels", node)
            method = getattr(self, "_" + type(node).__name__, None)
            if method is None:
                raise self.reject(_REJECTED.get(type(node), type(node).__name__), node)
            return method(node)
        finally:
            self.depth -= 1

    def _Constant(self, node: ast.Constant) -> Node:
        value = node.value
        if value is not None and not isinstance(value, bool | int | float | str):
            raise self.reject(f"{type(value).__name__} literal", node)
        return lambda names, functions: value

    def _Name(self, node: ast.Name) -> Node:
        name = node.id
        if name.startswith("_"):
            raise self.reject(f"name '{name}' (names starting with '_')", node)
        self.names.add(name)
        column = self.column(node)

        def load(names: Names, functions: Functions) -> Any:
            try:
                return names[name]
            except KeyError:
                raise ExpressionError(f"name '{name}' is not defined", offset=column) from None

        return load

    def _Attribute(self, node: ast.Attribute) -> Node:
        key = node.attr
        if key.startswith("_"):
            raise self.reject(f"attribute '.{key}' (names starting with '_')", node)
        if isinstance(node.value, ast.Constant | ast.List | ast.Tuple | ast.JoinedStr):
            raise self.reject(f"attribute '.{key}' of a literal", node)
        value = self.compile(node.value)
        column = self.column(node)

        def lookup(names: Names, functions: Functions) -> Any:
            obj = value(names, functions)
            if not isinstance(obj, Mapping):
                raise ExpressionError(f"'.{key}' reads a key of a mapping, not of {type(obj).__name__}", offset=column)
            try:
                return obj[key]
            except KeyError:
                raise ExpressionError(f"no key '{key}'", offset=column) from None

        return lookup

    def _Subscript(self, node: ast.Subscript) -> Node:
        value = self.compile(node.value)
        column = self.column(node)
        if isinstance(node.slice, ast.Slice):
            return self._slice(value, node.slice)
        index = self.compile(node.slice)

        def subscript(names: Names, functions: Functions) -> Any:
            obj = value(names, functions)
            key = index(names, functions)
            if isinstance(obj, Mapping):
                try:
                    return obj[key]
                except KeyError:
                    raise ExpressionError(f"no key {key!r}", offset=column) from None
            if isinstance(obj, _SEQUENCES):
                if not isinstance(key, int):
                    raise ExpressionError(f"index must be an integer, not {type(key).__name__}", offset=column)
                try:
                    return obj[key]
                except IndexError:
                    raise ExpressionError(f"index {key} out of range", offset=column) from None
            raise ExpressionError(f"cannot index {type(obj).__name__}", offset=column)

        return subscript

    def _slice(self, value: Node, node: ast.Slice) -> Node:
        parts = [self.compile(p) if p is not None else None for p in (node.lower, node.upper, node.step)]
        column = self.column(node)

        def sliced(names: Names, functions: Functions) -> Any:
            obj = value(names, functions)
            if not isinstance(obj, _SEQUENCES):
                raise ExpressionError(f"cannot slice {type(obj).__name__}", offset=column)
            bounds = [p(names, functions) if p is not None else None for p in parts]
            if any(b is not None and not isinstance(b, int) for b in bounds):
                raise ExpressionError("slice bounds must be integers", offset=column)
            part = slice(*bounds)
            check_length(obj, len(range(*part.indices(len(obj)))))
            return obj[part]

        return sliced

    def _BinOp(self, node: ast.BinOp) -> Node:
        op_type = type(node.op)
        if op_type in _BINARY_SYMBOLS:
            raise self.reject(f"operator '{_BINARY_SYMBOLS[op_type]}'", node)
        operation = _BINARY_OPERATIONS[op_type]
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda names, functions: operation(left(names, functions), right(names, functions))

    def _UnaryOp(self, node: ast.UnaryOp) -> Node:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda names, functions: not operand(names, functions)
        if isinstance(node.op, ast.USub):
            return lambda names, functions: -operand(names, functions)
        if isinstance(node.op, ast.UAdd):
            return lambda names, functions: +operand(names, functions)
        raise self.reject("operator '~'", node)

    def _BoolOp(self, node: ast.BoolOp) -> Node:
        values = [self.compile(v) for v in node.values]
        if isinstance(node.op, ast.And):

            def conjunction(names: Names, functions: Functions) -> Any:
                result = True
                for value in values:
                    result = value(names, functions)
                    if not result:
                        return result
                return result

            return conjunction

        def disjunction(names: Names, functions: Functions) -> Any:
            result = False
            for value in values:
                result = value(names, functions)
                if result:
                    return result
            return result

        return disjunction

    def _Compare(self, node: ast.Compare) -> Node:
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            if isinstance(op, ast.Is | ast.IsNot) and not any(
                isinstance(o, ast.Constant) and o.value is None for o in operands[index : index + 2]
            ):
                raise self.reject("'is' other than 'is None' / 'is not None'", node)
        compiled = [self.compile(o) for o in operands]
        ops = [_COMPARISONS[type(op)] for op in node.ops]
        if len(ops) == 1:
            op, left, right = ops[0], compiled[0], compiled[1]
            return lambda names, functions: op(left(names, functions), right(names, functions))

        def chain(names: Names, functions: Functions) -> bool:
            left = compiled[0](names, functions)
            for op, operand in zip(ops, compiled[1:], strict=True):
                right = operand(names, functions)
                if not op(left, right):
                    return False
                left = right
            return True

        return chain

    def _IfExp(self, node: ast.IfExp) -> Node:
        test, body, orelse = self.compile(node.test), self.compile(node.body), self.compile(node.orelse)
        return lambda names, functions: body(names, functions) if test(names, functions) else orelse(names, functions)

    def _List(self, node: ast.List) -> Node:
        items = [self.compile(e) for e in node.elts]
        size = OBJECT_BYTES + POINTER_BYTES * len(items)

        def build(names: Names, functions: Functions) -> list[Any]:
            charge(size)
            return [item(names, functions) for item in items]

        return build

    def _Tuple(self, node: ast.Tuple) -> Node:
        items = [self.compile(e) for e in node.elts]
        size = OBJECT_BYTES + POINTER_BYTES * len(items)

        def build(names: Names, functions: Functions) -> tuple[Any, ...]:
            charge(size)
            return tuple(item(names, functions) for item in items)

        return build

    def _Dict(self, node: ast.Dict) -> Node:
        if any(k is None for k in node.keys):
            raise self.reject("'**' unpacking", node)
        pairs = [(self.compile(k), self.compile(v)) for k, v in zip(node.keys, node.values, strict=True)]
        size = OBJECT_BYTES + ENTRY_BYTES * len(pairs)

        def build(names: Names, functions: Functions) -> dict[Any, Any]:
            charge(size)
            return {k(names, functions): v(names, functions) for k, v in pairs}

        return build

    def _JoinedStr(self, node: ast.JoinedStr) -> Node:
        parts = [self.compile(v) for v in node.values]

        def join(names: Names, functions: Functions) -> str:
            pieces = []
            length = 0
            for part in parts:
                piece = text_of(part(names, functions), MAX_SEQUENCE_LENGTH - length)
                length += len(piece)
                pieces.append(piece)
            text = "".join(pieces)
            check_length(text, len(text))
            return text

        return join

    def _FormattedValue(self, node: ast.FormattedValue) -> Node:
        if node.conversion != -1 or node.format_spec is not None:
            raise self.reject("f-string conversion or format spec", node)
        return self.compile(node.value)

    def _Call(self, node: ast.Call) -> Node:
        if isinstance(node.func, ast.Attribute):
            raise self.reject(f"method call '.{node.func.attr}()'", node)
        if not isinstance(node.func, ast.Name):
            raise self.reject("calling anything but a plain function name", node)
        name = node.func.id
        if name.startswith("_") or name in FORBIDDEN_FUNCTIONS:
            raise self.reject(f"function '{name}'", node)
        if node.keywords:
            raise self.reject("keyword argument", node.keywords[0])
        args = [self.compile(a) for a in node.args]
        self.functions.add(name)
        column = self.column(node)
        builtin = BUILTIN_FUNCTIONS.get(name)

        def call(names: Names, functions: Functions) -> Any:
            function = functions.get(name, builtin)
            if function is None:
                raise ExpressionError(f"function '{name}' is not defined", offset=column)
            return function(*[arg(names, functions) for arg in args])

        return call


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        return concatenate(a, b)
    return a + b


def _multiply(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, _SEQUENCES):
        a, b = b, a
    if isinstance(a, _SEQUENCES):
        if isinstance(b, int):
            return repeat(a, b)
    elif isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise ExpressionError("number too large")
    return a * b


def _modulo(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        raise ExpressionError("'%' formatting of strings is not allowed")
    return a % b


_BINARY_OPERATIONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: _add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _modulo,
}
