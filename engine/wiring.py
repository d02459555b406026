"""The engine's wiring, done once per process by :func:`bootstrap` (the app factory, the command
line and the scheduler call it; the tests' conftest too).

It installs the built-in hooks and sources, in this order: the supervision step watcher, the
supervision area's access decisions, the violations the audit views count, the complaints' concern,
hooks and reporter's contact, subsidy rosters produced by flows, the disclosures' on-time check each
sweep runs, closing added approvals of a closed step, and dropping the drafts of a closed step. It
also imports every module that defines tables (:data:`MODEL_MODULES`), so Alembic and the app see
the whole schema; they live in the areas above :mod:`engine.persistence`, which knows none of them.
Installing twice changes nothing.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from engine.audit import models as audit_models
from engine.audit import violation_source
from engine.definitions import models as definition_models
from engine.persistence import models
from engine.public import complaints, disclosure_models, ledger_models, subsidy_models
from engine.public import models as public_models
from engine.public.disclosures import late_check as disclosures_late_check
from engine.public.subsidies import from_flows as subsidies_from_flows
from engine.supervision import access as supervision_access
from engine.supervision import hook as supervision_hook
from engine.supervision import models as supervision_models
from engine.workspace import closing, draft_models, drafts
from engine.workspace import models as workspace_models

MODEL_MODULES = (
    models,
    supervision_models,
    audit_models,
    workspace_models,
    draft_models,
    public_models,
    subsidy_models,
    ledger_models,
    disclosure_models,
    definition_models,
)

INSTALLERS = (
    supervision_hook.install,
    supervision_access.install,
    violation_source.install,
    complaints.install,
    subsidies_from_flows.install,
    disclosures_late_check.install,
    closing.install,
    drafts.install,
)


def bootstrap() -> None:
    """Install the built-in hooks and sources and load every model module; idempotent."""
    load_models()
    for install in INSTALLERS:
        install()


def load_models() -> MetaData:
    """Every model module is imported with this one; the schema they describe."""
    return models.Base.metadata
