"""User names the engine itself acts under, which no real user may take.

Steps and events carry the name of whoever acted. The villagers' public reports act as ``public``
and the supervision sweeps as ``system``; a real account with either name would be taken for them
and see what they see.
"""

from __future__ import annotations

from engine.errors import PowerlistError

PUBLIC = "public"
SYSTEM = "system"

RESERVED_USERNAMES: frozenset[str] = frozenset({PUBLIC, SYSTEM})


class ReservedUsername(PowerlistError):
    """A user name that belongs to the engine; ``field`` names the input at fault."""

    default_code = "user.reserved_name"

    def __init__(self, username: str):
        super().__init__(params={"username": username}, field="username")
        self.username = username


def is_reserved(username: str | None) -> bool:
    return (username or "").strip().lower() in RESERVED_USERNAMES


def refuse_reserved(username: str | None) -> None:
    """Raise :class:`ReservedUsername` when ``username`` (in any letter case) is reserved."""
    if is_reserved(username):
        raise ReservedUsername((username or "").strip())
