"""补贴去哪了: subsidy rosters by village and period, and a household's own lookup."""

from __future__ import annotations

from web.public import bp


@bp.get("/villages/<code>/subsidies")
def subsidies(code: str) -> str:
    return ""
