"""Demo subsidy rosters of the demo villages, and their households' lookup codes."""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy.orm import Session


def load(session: Session, now: datetime, rng: random.Random, size: str) -> None:
    """Add this area's demo data (``size``: full, small or tiny, as the matters)."""
