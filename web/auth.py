"""Signing in and out, and changing one's own password."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from engine.workspace import accounts, logins, people
from engine.workspace.access import profile_of
from web import db
from web.i18n import gettext as _
from web.i18n import safe_next
from web.security import WebUser, client_address

bp = Blueprint("auth", __name__)


def _renew_session() -> None:
    """Start a new, empty session (and so a new CSRF secret), keeping only the language chosen.

    Nothing put in the session before signing in, by anyone, survives it.
    """
    lang = session.get("lang")
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    if lang:
        session["lang"] = lang


def _refused(message: str, wait_seconds: int, minutes: int) -> tuple[str, int, dict[str, str]]:
    """The refusal text, status and headers of a sign-in or password check."""
    text = _(message, minutes=minutes)
    if wait_seconds:
        return text, 429, {"Retry-After": str(wait_seconds)}
    return text, 401, {}


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    landing = _landing(current_user)
    if landing:
        return redirect(url_for(landing))
    if current_user.has_duties or not current_user.is_admin:
        return redirect(url_for("cadre.inbox"))
    return redirect(url_for("admin.flows"))


def _landing(user) -> str | None:
    """Supervisors and auditors without acting duties land on their own pages, not the cadre desk:
    one who only supervises (and perhaps audits) on the worklist, an auditor only on the audit pages.
    Holding an acting role keeps the desk, with the 监督 menu beside it."""
    from engine.policy.rules import access_rules

    rules = access_rules()
    roles = {h.role for h in user.profile.holdings} - {"admin"}
    if not roles:
        return None
    supervising, reading = rules.roles("supervising"), rules.roles("read_only")
    acting_only = rules.roles("acting") - supervising
    if roles & acting_only:
        return None
    if roles <= supervising | reading:
        return "supervise.worklist" if roles & supervising else "auditor.matters"
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("auth.home"))
    error = None
    status = 200
    headers: dict[str, str] = {}
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        if not username or not password:
            error, status = _("请填写用户名和密码"), 400
        else:
            with db.writing() as writing:
                result = logins.attempt(writing, username, password, client_address())
                user = WebUser(profile_of(result.user)) if result.user is not None else None
            if user is not None:
                _renew_session()
                login_user(user, remember=bool(request.form.get("remember")))
                return redirect(safe_next(request.args.get("next"), url_for("auth.home")))
            error, status, headers = _refused(result.message or logins.WRONG, result.wait_seconds, result.wait_minutes)
    return render_template("auth/login.html", error=error, username=username), status, headers


@bp.post("/logout")
@login_required
def logout():
    with db.writing() as writing:
        accounts.end_sessions(writing, current_user.profile.id)
    lang = session.get("lang")
    session.clear()
    logout_user()
    if lang:
        session["lang"] = lang
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    errors: dict[str, str] = {}
    message = None
    status = 200
    headers: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        with db.writing() as writing:
            result = accounts.change_password(
                writing,
                current_user.username,
                form.get("current_password", ""),
                form.get("new_password", ""),
                form.get("repeat_password", ""),
                client_address(),
            )
            user = WebUser(profile_of(result.user)) if result.user is not None else None
        if user is not None:
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            _renew_session()
            login_user(user, remember=remembered)
            flash(_("密码已修改，其他设备上的登录已退出"), "success")
            return redirect(url_for("auth.home"))
        if result.message:
            message, status, headers = _refused(result.message, result.wait_seconds, result.wait_minutes)
        else:
            errors = {name: _(problem) for name, problem in result.errors.items()}
            status = 400
    forced = current_user.profile.must_change_password
    page = render_template(
        "auth/password.html", errors=errors, message=message, forced=forced, min_length=people.MIN_PASSWORD
    )
    return page, status, headers
