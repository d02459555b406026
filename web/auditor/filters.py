"""The filters shared by the matter list, heatmap, conformance check and exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import request

from engine.audit import views
from engine.persistence.enums import MatterStatus
from web import db
from web.auditor import texts
from web.auditor.blueprint import bp, scope
from web.auditor.params import Params
from web.i18n import gettext as _

STATUSES = tuple(MatterStatus)


@dataclass
class Filters:
    unit: str | None
    flow: str | None
    since: datetime | None
    until: datetime | None
    status: str | None
    colour: str | None


def read(params: Params, flows: list[views.FlowOption]) -> Filters:
    unit = params.text("unit", 40)
    flow = params.choice("flow", [f.key for f in flows], _("事项"))
    since, until = params.period()
    status = params.choice("status", STATUSES, _("状态"))
    colour = params.choice("colour", [*views.COLOURS, "none"], _("预警颜色"))
    return Filters(unit, flow, since, until, status, colour)


def choices() -> dict[str, Any]:
    """What the filter form offers: the units in scope and the deployed flows."""
    session = db.session()
    return {"units": views.unit_options(session, scope()), "flows": views.flow_options(session)}


@bp.context_processor
def helpers() -> dict[str, Any]:
    def keep(**changes: Any) -> dict[str, Any]:
        """The current query with ``changes`` (None removes a parameter), for links and forms."""
        values: dict[str, Any] = {k: v for k, v in request.args.items() if v}
        for key, value in changes.items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        return values

    return {
        "keep": keep,
        "rejected_reason": texts.rejected_reason,
        "chain_problem": texts.chain_problem,
        "anchor_problem": texts.anchor_problem,
        "status_name": texts.status_name,
        "event_name": texts.event_name,
        "kind_name": texts.kind_name,
    }
