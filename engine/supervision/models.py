"""Tables of this area."""

from engine.persistence.models import Base  # noqa: F401
