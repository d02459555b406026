# ruff: noqa: E501
"""English for the Chinese text of 三务公开 (periodic disclosures and the half-yearly reports)."""

from __future__ import annotations

ENGLISH: dict[str, str] = {}
