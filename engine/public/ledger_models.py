"""Tables of 我们的钱包: the village's collective accounts as imported month by month."""

from __future__ import annotations
