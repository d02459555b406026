# ruff: noqa: E501
"""English for the Chinese text of the power list's items and the published decisions and results."""

from __future__ import annotations

ENGLISH: dict[str, str] = {}
