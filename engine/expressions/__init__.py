"""The safe expression language of gateway conditions, timers, scripts and form checks.

Nothing here runs Python source: expressions are parsed with :mod:`ast`, checked against an
allowlist and turned into closures. See docs/bpmn-conventions.md, "Expressions".
"""

from engine.expressions.compiler import Expression, compile_expression
from engine.expressions.errors import ExpressionError
from engine.expressions.functions import BUILTIN_FUNCTIONS, MAX_SEQUENCE_LENGTH
from engine.expressions.script import Script, compile_script
from engine.expressions.script_engine import SafeEnvironment, SafeScriptEngine
from engine.expressions.timer_values import (
    ISO_TIMER_RE,
    add_duration,
    duration_parts,
    is_iso8601_cycle,
    is_iso8601_datetime,
    is_iso8601_duration,
    is_iso8601_timer,
    parse_duration,
)

__all__ = [
    "BUILTIN_FUNCTIONS",
    "ISO_TIMER_RE",
    "MAX_SEQUENCE_LENGTH",
    "Expression",
    "ExpressionError",
    "SafeEnvironment",
    "SafeScriptEngine",
    "Script",
    "add_duration",
    "compile_expression",
    "compile_script",
    "duration_parts",
    "is_iso8601_cycle",
    "is_iso8601_datetime",
    "is_iso8601_duration",
    "is_iso8601_timer",
    "parse_duration",
]
