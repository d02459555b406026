"""The wording of the error codes of 我们的钱包 (the village's accounts: income, spending, balance),
code -> (Chinese, English), merged into :data:`engine.messages.CATALOGUE`."""

from __future__ import annotations

CATALOGUE: dict[str, tuple[str, str]] = {}
