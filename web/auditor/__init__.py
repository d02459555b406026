"""Auditors' pages: replay any matter on its diagram, list and heat-map the matters of a village,
town or county, check conformance of our histories and of uploaded event logs, verify the chains
and the daily anchors.

Every page needs an auditing role (village supervisory committee, town or county discipline
commission, auditor); the engine keeps each user to the villages of their scope."""

from __future__ import annotations

from web.auditor import conformance, heatmap, matters, trust  # noqa: F401  (the views register on bp)
from web.auditor.blueprint import bp

__all__ = ["bp"]
