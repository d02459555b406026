"""The one script engine every workflow runs with: safe expressions only, plus ``rule()``."""

from __future__ import annotations

from functools import lru_cache

from engine.expressions import SafeScriptEngine
from engine.ruleset import rule


@lru_cache(maxsize=1)
def script_engine() -> SafeScriptEngine:
    return SafeScriptEngine(functions={"rule": rule})
