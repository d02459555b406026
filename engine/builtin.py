"""Modules that register the engine's built-in hooks and sources (see :mod:`engine.hooks`), imported once."""

from __future__ import annotations

import importlib

HOOK_MODULES: tuple[str, ...] = (
    "engine.supervision.hook",
    "engine.supervision.audit_source",
    "engine.public.complaints",
    "engine.public.subsidies",
    "engine.workspace.closing",
    "engine.workspace.drafts",
)

_loaded = False


def load() -> None:
    global _loaded
    if not _loaded:
        for name in HOOK_MODULES:
            importlib.import_module(name)
        _loaded = True
