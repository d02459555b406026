"""三务公开: the village's periodic disclosures and the half-yearly reports."""

from __future__ import annotations

from web.public import bp


@bp.get("/villages/<code>/disclosures")
def disclosures(code: str) -> str:
    return ""
