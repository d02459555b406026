# ruff: noqa: E501
"""English for the Chinese text of 我们的钱包 (the village's accounts: income, spending, balance)."""

from __future__ import annotations

ENGLISH: dict[str, str] = {}
