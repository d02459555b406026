"""Tables of 补贴去哪了: subsidy rosters, their entries and households' lookup codes."""

from __future__ import annotations
