"""A user's own account: changing their password and ending their sessions.

Every session and remember cookie carries :func:`engine.workspace.access.auth_version`, a fingerprint
of the password hash and the user's session generation. Raising the generation (signing out) or a new
password makes every cookie issued before it worthless, on every device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import PowerlistError
from engine.org.passwords import check_password, hash_password
from engine.org.service import get_user
from engine.persistence.db import begin_write
from engine.persistence.models import AuditLog, User
from engine.texts import text
from engine.workspace import logins
from engine.workspace.people import check_password_strength

WRONG_CURRENT = text("workspace.password.wrong_current")
NOT_REPEATED = text("workspace.password.not_repeated")
UNCHANGED = text("workspace.password.unchanged")
MESSAGES = (WRONG_CURRENT, NOT_REPEATED, UNCHANGED)


@dataclass
class PasswordChange:
    """The outcome: ``user`` when the password changed, else ``errors`` by form field
    (``current``, ``new``, ``repeat``) or a ``message`` with a wait when too many guesses were made."""

    user: User | None = None
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None  # ``{minutes}`` is the wait
    wait_seconds: int = 0

    @property
    def wait_minutes(self) -> int:
        return (self.wait_seconds + 59) // 60


def end_sessions(session: Session, user_id: int) -> None:
    """Sign the user out everywhere: every session and remember cookie issued so far stops working."""
    session.execute(update(User).where(User.id == user_id).values(session_generation=User.session_generation + 1))


def change_password(
    session: Session, username: str, current: str, new: str, repeat: str, address: str
) -> PasswordChange:
    """Change the signed-in user's own password; commit the transaction whatever the result.

    A wrong current password counts as a failed sign-in (the same limits apply), so a session left
    open cannot be used to guess it. On success every other session of the user ends and the
    obligation to replace a password an administrator chose is lifted.
    """
    begin_write(session)
    user = get_user(session, username)
    address = (address or "unknown")[:64]
    found = logins.lock(session, user.username, address)
    if found is not None:
        return PasswordChange(message=found.message, wait_seconds=found.wait_seconds)
    current, new, repeat = current or "", new or "", repeat or ""
    errors: dict[str, str] = {}
    current_ok = check_password(user.password_hash, current)
    if not current_ok:
        errors["current"] = WRONG_CURRENT
        logins.record(session, user.username, address, success=False)
    try:
        check_password_strength(new)
    except PowerlistError as exc:
        errors["new"] = str(exc)
    else:
        if current_ok and new == current:
            errors["new"] = UNCHANGED
    if new != repeat:
        errors["repeat"] = NOT_REPEATED
    if errors:
        return PasswordChange(errors=errors)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_generation = (user.session_generation or 0) + 1
    session.add(
        AuditLog(at=clock.now(), actor=user.username, action="password_change", subject=user.username, detail={})
    )
    session.flush()
    return PasswordChange(user=user)
