# ruff: noqa: E501
"""English for the Chinese text of 补贴去哪了 (subsidy rosters and the household lookup)."""

from __future__ import annotations

ENGLISH: dict[str, str] = {}
