"""Every module that defines tables, so Alembic and the app see the whole schema.

Importing this module imports them all; :func:`metadata` is the schema they describe.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from engine.audit import models as audit_models
from engine.definitions import models as definition_models
from engine.persistence import models
from engine.public import disclosure_models, ledger_models, subsidy_models
from engine.public import models as public_models
from engine.supervision import models as supervision_models
from engine.workspace import draft_models
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


def metadata() -> MetaData:
    """The tables of every model module."""
    return models.Base.metadata


def load_all() -> MetaData:
    """Every model module is imported with this one; the schema they describe (as :func:`metadata`)."""
    return metadata()
