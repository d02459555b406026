"""Sign-in (Flask-Login), CSRF protection on every form, access decorators and response headers.

Every view checks who may do what on the server; templates only leave out what a user may not use.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, abort, request
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect

from engine.workspace.access import Profile

csrf = CSRFProtect()
login_manager = LoginManager()

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class WebUser(UserMixin):
    """The signed-in person; the session keeps their id and a fingerprint of their password."""

    def __init__(self, profile: Profile):
        self.profile = profile

    def get_id(self) -> str:
        return f"{self.profile.id}:{self.profile.auth_version}"

    @property
    def username(self) -> str:
        return self.profile.username

    @property
    def display_name(self) -> str:
        return self.profile.display_name

    @property
    def is_admin(self) -> bool:
        return self.profile.is_admin

    @property
    def has_duties(self) -> bool:
        """Holds a role other than administrator, so has a desk of steps to do."""
        return any(h.role != "admin" for h in self.profile.holdings)

    def holds(self, *roles: str) -> bool:
        return self.profile.holds(*roles)


@login_manager.user_loader
def load_user(user_id: str) -> WebUser | None:
    from engine.workspace.access import profile_by_id
    from web import db

    number, _, version = user_id.partition(":")
    if not number.isdigit():
        return None
    profile = profile_by_id(db.session(), int(number))
    if profile is None or profile.auth_version != version:
        return None
    return WebUser(profile)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.after_request(_headers)


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint and request.endpoint != "static" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def roles_required(*roles: str) -> Callable:
    """Only signed-in users holding one of ``roles`` (anywhere); everyone else gets 403."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.holds(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


admin_required = roles_required("admin")


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]
