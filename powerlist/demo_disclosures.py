"""Demo periodic disclosures (三务公开) of the demo villages: a year of them, mostly on time."""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy.orm import Session


def load(session: Session, now: datetime, rng: random.Random, size: str) -> None:
    """Add this area's demo data (``size``: full, small or tiny, as the matters)."""
