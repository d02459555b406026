"""The cadre's pages: the desk (待办/已办/我发起的/抄送/加签), starting a matter, task forms, matters."""

from __future__ import annotations

from web.cadre import decisions, desk, diagrams, disclosures, drafts, ledger, matters, subsidies, tasks  # noqa: F401,I001  (the views register on bp, in this order)
from web.cadre.blueprint import bp

__all__ = ["bp"]
