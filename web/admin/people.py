"""Organisation and users: units, users and their roles, passwords, deactivation, API tokens.

The engine decides which units, users and tokens the administrator manages (their own counties').
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.errors import NotFound, PermissionDenied, PowerlistError
from engine.messages import describe
from engine.org.roles import ROLES
from engine.workspace import people, tokens
from web import db
from web.admin.blueprint import bp
from web.i18n import gettext as _
from web.i18n import locale


def _change(run, message: str, back: str):
    """Run an administrative change; a refusal is shown on the page it came from."""
    try:
        with db.writing() as session:
            shown = run(session)
    except (NotFound, PermissionDenied):
        raise
    except PowerlistError as exc:
        flash(describe(exc, locale()), "error")
        return redirect(back)
    if shown:
        flash(message, "success")
        return render_template("admin/secret.html", secret=shown, message=message, back=back)
    flash(message, "success")
    return redirect(back)


@bp.get("/org")
def org():
    session = db.session()
    return render_template(
        "admin/org.html",
        tree=people.org_tree(session, current_user.username),
        units=people.units_for_role(session, current_user.username),
    )


@bp.post("/org/units")
def add_unit():
    form = request.form
    actor = current_user.username

    def run(session) -> None:
        code, name, level = form.get("code", ""), form.get("name", ""), form.get("level", "")
        people.add_unit(session, actor, code, name, level, form.get("parent") or None)

    return _change(run, _("已添加"), url_for("admin.org"))


@bp.get("/users")
def users():
    query = (request.args.get("q") or "").strip()[:50]
    return render_template(
        "admin/users.html", users=people.users(db.session(), current_user.username, query), query=query
    )


@bp.post("/users")
def add_user():
    form = request.form
    actor = current_user.username
    username = (form.get("username") or "").strip().lower()
    password = form.get("password") or people.generated_password()

    def run(session):
        people.add_user(session, actor, username, form.get("display_name", ""), password)
        if form.get("role") and form.get("unit"):
            people.grant_role(session, actor, username, form["role"], form["unit"])
        return None if form.get("password") else password

    return _change(run, _("已添加用户 {username}", username=username), url_for("admin.user", username=username))


@bp.get("/users/<username>")
def user(username: str):
    session = db.session()
    found = next((u for u in people.users(session, current_user.username) if u["username"] == username), None)
    if found is None:
        raise NotFound(_("没有这个用户，或不归您管理"))
    return render_template(
        "admin/user.html",
        user=found,
        roles=ROLES,
        units=people.units_for_role(session, current_user.username),
        tokens=tokens.listing(session, current_user.username, username),
    )


def _back(username: str) -> str:
    return url_for("admin.user", username=username)


@bp.post("/users/<username>/roles")
def grant(username: str):
    role, unit, actor = request.form.get("role", ""), request.form.get("unit", ""), current_user.username
    return _change(lambda s: people.grant_role(s, actor, username, role, unit), _("已授予岗位"), _back(username))


@bp.post("/users/<username>/roles/revoke")
def revoke(username: str):
    role, unit, actor = request.form.get("role", ""), request.form.get("unit", ""), current_user.username
    return _change(lambda s: people.revoke_role(s, actor, username, role, unit), _("已撤销岗位"), _back(username))


@bp.post("/users/<username>/password")
def reset_password(username: str):
    actor = current_user.username
    password = people.generated_password()

    def run(session):
        people.set_password(session, actor, username, password)
        return password

    return _change(run, _("已重置密码，请把新密码告诉本人，登录后尽快修改。"), _back(username))


@bp.post("/users/<username>/active")
def set_active(username: str):
    active, actor = request.form.get("active") == "1", current_user.username
    message = _("已启用") if active else _("已停用，该用户不能再登录")
    return _change(lambda s: people.set_active(s, actor, username, active), message, _back(username))


@bp.post("/users/<username>/tokens")
def create_token(username: str):
    actor, name = current_user.username, request.form.get("name", "")

    def run(session):
        return tokens.create(session, username, name, actor)

    return _change(run, _("已创建令牌。它只显示这一次，请立即复制保存。"), _back(username))


@bp.post("/users/<username>/tokens/<int:token_id>/revoke")
def revoke_token(username: str, token_id: int):
    actor = current_user.username

    def run(session) -> None:
        tokens.revoke(session, token_id, actor, username)

    return _change(run, _("令牌已作废"), _back(username))
