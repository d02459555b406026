"""Every module that defines tables, so Alembic and the app see the whole schema."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "engine.persistence.models",
    "engine.supervision.models",
    "engine.audit.models",
    "engine.workspace.models",
    "engine.workspace.draft_models",
    "engine.public.models",
    "engine.public.subsidy_models",
    "engine.public.ledger_models",
    "engine.public.disclosure_models",
    "engine.definitions.models",
)


def load_all() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
