"""The one reader of JSON that comes from outside: a ``--data`` on the command line, an API body.

Python's ``json`` takes NaN and Infinity, turns ``1e400`` into ``inf``, keeps lone surrogates that
no database can store, builds integers of any length (and fails on 4,300 digits), and recurses
until the interpreter's limit. This reader refuses each of these, and anything beyond the limits of
rule data ``inputs.*`` (``rules/defaults/flows.yaml``): the nesting depth, the length of a string
or a key, the size of an integer (amounts in fen, the fields named ``*_fen``, have their own lower
maximum), the size of the whole text. The refusal is an :class:`InputInvalid` naming the path of
the value at fault (``data.amount_fen``, ``items[3]``); nothing is cut to fit.

Forms still check their own ``maxLength``, ``minimum`` and so on: these limits are the outer wall
every input meets before any form sees it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from engine.errors import PowerlistError

# Fallbacks used when the rule set has no ``inputs.*`` values (a deployment's override folder
# replaces individual keys only, so these matter only for a stripped-down rule set).
DEFAULT_LIMITS: dict[str, int] = {
    "max_body_bytes": 2_000_000,
    "max_depth": 64,
    "max_string_chars": 100_000,
    "max_key_chars": 200,
    "max_integer": 2**53,
    "max_amount_fen": 10**12,
}
AMOUNT_SUFFIX = "_fen"
_SURROGATE = re.compile("[\ud800-\udfff]")


class InputInvalid(PowerlistError):
    """Input that no command takes, whatever it is for: exit 2 on the command line, 400 on the API."""

    exit_code = 2
    default_code = "input.invalid"


def limit(name: str) -> int:
    """The limit ``inputs.<name>`` from the rule set, or its default."""
    from engine.ruleset import rule_values

    value = rule_values().get(f"inputs.{name}")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return DEFAULT_LIMITS[name]


class _Refused:
    """Stands in for a number the decoder met but must not build; the walk reports it with its path."""

    __slots__ = ("code", "text")

    def __init__(self, code: str, text: str) -> None:
        self.code = code
        self.text = text


def _parse_int(text: str, max_digits: int) -> int | _Refused:
    if len(text.lstrip("-")) > max_digits:
        return _Refused("input.integer_too_large", text)
    return int(text)


def _parse_float(text: str) -> float | _Refused:
    value = float(text)
    if not math.isfinite(value):
        return _Refused("input.not_finite", text)
    return value


def _parse_constant(text: str) -> _Refused:
    return _Refused("input.not_finite", text)


def _label(path: str, root: str) -> str:
    """The path of a value, shortened in the middle when a deep nesting makes it long."""
    where = path or root or "body"
    return where if len(where) <= 200 else f"{where[:100]}…{where[-99:]}"


def _fail(code: str, path: str, **params: object) -> InputInvalid:
    """The refusal of the value at ``path``, worded by the catalogue from ``code`` (``input.*``)."""
    return InputInvalid(code=code, params={"field": path, **params}, field=path)


def check_text(value: str, path: str, max_chars: int | None = None) -> str:
    """A string from outside: no lone surrogate (what a non-UTF-8 argument decodes to), not too long."""
    most = limit("max_string_chars") if max_chars is None else max_chars
    if len(value) > most:
        raise _fail("input.string_too_long", path, length=len(value), max=most)
    if _SURROGATE.search(value):
        raise _fail("input.surrogate", path)
    return value


def check_value(value: Any, root: str = "data") -> Any:
    """Check a decoded value against the limits; returns it unchanged. Iterative, so depth is free.

    Paths start at ``root`` (``data.amount_fen``); with an empty root they start at the keys of
    the whole value (``title``, ``data.amount_fen``), which itself is called ``body``.
    """
    max_depth = limit("max_depth")
    max_key = limit("max_key_chars")
    max_integer = limit("max_integer")
    max_amount = limit("max_amount_fen")
    stack: list[tuple[Any, str, int, bool]] = [(value, "", 0, False)]
    while stack:
        node, path, depth, amount = stack.pop()
        where = _label(path, root)
        if isinstance(node, _Refused):
            if node.code == "input.not_finite":
                raise _fail(node.code, where, value=node.text[:20])
            most = max_amount if amount else max_integer
            code = "input.amount_too_large" if amount else "input.integer_too_large"
            raise _fail(code, where, max=most)
        if isinstance(node, bool) or node is None:
            continue
        if isinstance(node, str):
            check_text(node, where)
        elif isinstance(node, int | float):
            if isinstance(node, float) and not math.isfinite(node):
                raise _fail("input.not_finite", where, value=str(node))
            most = max_amount if amount else max_integer
            if abs(node) > most:
                code = "input.amount_too_large" if amount else "input.integer_too_large"
                raise _fail(code, where, max=most)
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                raise _fail("input.too_deep", where, max=max_depth)
            if isinstance(node, dict):
                for key, item in node.items():
                    if not isinstance(key, str):
                        raise _fail("input.key_not_text", where)
                    inner = f"{path}.{key}" if path else (f"{root}.{key}" if root else key)
                    check_text(key, inner, max_key)
                    stack.append((item, inner, depth + 1, key.endswith(AMOUNT_SUFFIX)))
            else:
                for index, item in enumerate(node):
                    stack.append((item, f"{where}[{index}]", depth + 1, amount))
        else:
            raise _fail("input.invalid", where)
    return value


def read_json(raw: str | bytes, root: str = "data", source: str | None = None) -> Any:
    """Decode and check one JSON text; ``root`` names the whole value in errors, ``source`` the file.

    Bytes must be UTF-8 (a BOM is allowed).
    """
    where = source or root or "body"
    most = limit("max_body_bytes")
    if len(raw) > most:  # bytes, or characters (each at least one byte)
        raise _fail("input.too_large", where, max=most)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _fail("input.not_utf8", where, position=exc.start + 1) from None
    elif len(raw.encode("utf-8", "surrogatepass")) > most:
        raise _fail("input.too_large", where, max=most)
    max_digits = len(str(max(limit("max_integer"), limit("max_amount_fen"))))
    try:
        value = json.loads(
            raw,
            parse_int=lambda text: _parse_int(text, max_digits),
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except RecursionError:
        depth = limit("max_depth")
        raise _fail("input.too_deep", where, max=depth) from None
    except json.JSONDecodeError as exc:
        raise _fail("input.not_json", where, reason=exc.msg, line=exc.lineno, column=exc.colno) from None
    return check_value(value, root)


def read_object(raw: str | bytes | None, root: str = "data", source: str | None = None) -> dict[str, Any]:
    """:func:`read_json` for a JSON object (``null``, a list or a number are refused); None is ``{}``."""
    if raw is None:
        return {}
    value = read_json(raw, root, source)
    if not isinstance(value, dict):
        raise _fail("input.not_object", source or root or "body")
    return value
