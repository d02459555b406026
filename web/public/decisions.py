"""决议公开 and 结果公开: the decisions and results a village published."""

from __future__ import annotations

from web.public import bp


@bp.get("/villages/<code>/decisions")
def decisions(code: str) -> str:
    return ""
