"""Signing in and out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from engine.workspace import logins
from engine.workspace.access import profile_of
from web import db
from web.i18n import gettext as _
from web.i18n import safe_next
from web.security import WebUser, client_address

bp = Blueprint("auth", __name__)


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.has_duties or not current_user.is_admin:
        return redirect(url_for("cadre.inbox"))
    return redirect(url_for("admin.flows"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("auth.home"))
    error = None
    status = 200
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        if not username or not password:
            error, status = _("请填写用户名和密码"), 400
        else:
            with db.writing() as session:
                result = logins.attempt(session, username, password, client_address())
                user = WebUser(profile_of(result.user)) if result.user is not None else None
            if user is not None:
                login_user(user, remember=bool(request.form.get("remember")))
                return redirect(safe_next(request.args.get("next"), url_for("auth.home")))
            error = _(result.message or "用户名或密码不对")
            status = 429 if result.wait_seconds else 401
    return render_template("auth/login.html", error=error, username=username), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))
