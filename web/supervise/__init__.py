"""The supervisors' pages (监督): the worklist of the violations and complaints a supervising unit
must handle, a violation's facts, history and handling, and search over the matters in scope.

Every page needs a supervising role (village supervisory committee, town or county discipline
commission) or the auditor's (read only); a violation's own page is also open to its rectification
owner. The engine keeps each user to the villages of their scope and decides every action."""

from __future__ import annotations

from web.supervise import documents, overview, worklist  # noqa: F401,I001  (the views register on bp, in this order)
from web.supervise.blueprint import bp

__all__ = ["bp"]
