"""Sign-in (Flask-Login), CSRF protection on every form, access decorators and response headers.

Every view checks who may do what on the server; templates only leave out what a user may not use.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, abort, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response as BaseResponse

from engine.workspace.access import Profile

csrf = CSRFProtect()
login_manager = LoginManager()

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# What a user whose password an administrator chose may still open before choosing their own.
OPEN_BEFORE_OWN_PASSWORD = frozenset({"auth.change_password", "auth.logout", "static", "i18n.choose"})


class WebUser(UserMixin):
    """The signed-in person; the session and remember cookies keep their id and a fingerprint of
    their password and session generation (see ``engine.workspace.accounts``)."""

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
    if profile is None or not hmac.compare_digest(profile.auth_version.encode(), version.encode()):
        return None
    return WebUser(profile)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.before_request(_own_password_first)
    app.after_request(_headers)


def _own_password_first() -> BaseResponse | None:
    """Send a user still on a password an administrator chose to the page where they choose their own.

    The API authenticates with bearer tokens, not the session, and is left alone.
    """
    if request.endpoint is None or request.endpoint in OPEN_BEFORE_OWN_PASSWORD or request.blueprint == "api":
        return None
    if current_user.is_authenticated and current_user.profile.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


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
