"""The desk: steps to do, done, started, copies, added approvals; the power list to start from."""

from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import FormInvalid
from engine.workspace import access, idempotency, operations
from engine.workspace import inbox as inbox_queries
from web import db
from web.actions import run_once
from web.cadre.blueprint import bp
from web.i18n import gettext as _

TABS = ("todo", "approvals", "copies")


@bp.get("/desk")
@login_required
def inbox():
    tab = request.args.get("tab", "todo")
    if tab not in TABS:
        tab = "todo"
    session = db.session()
    user = current_user.username
    if tab == "todo":
        rows = inbox_queries.todo(session, user)
    elif tab == "approvals":
        rows = inbox_queries.approvals(session, user)
    else:
        rows = inbox_queries.copies(session, user)
    return render_template("cadre/desk.html", tab=tab, rows=rows)


@bp.get("/done")
@login_required
def done():
    """已办: what the user did, from the history."""
    rows = inbox_queries.done(db.session(), current_user.username)
    return render_template("cadre/mine.html", tab="done", rows=rows)


@bp.get("/started")
@login_required
def started():
    """Matters the user started, and where each one is now."""
    rows = inbox_queries.started(db.session(), current_user.username)
    return render_template("cadre/mine.html", tab="started", rows=rows)


@bp.get("/start")
@login_required
def start():
    query = (request.args.get("q") or "").strip()[:50]
    session = db.session()
    groups = inbox_queries.catalogue(session, query, current_user.username)
    can_start = any(item["can_start"] for group in groups for item in group["items"])
    return render_template("cadre/start.html", groups=groups, query=query, can_start=can_start)


@bp.route("/start/<key>", methods=["GET", "POST"])
@login_required
def start_item(key: str):
    session = db.session()
    item = next((i for g in inbox_queries.catalogue(session) for i in g["items"] if i["key"] == key), None)
    if item is None:
        abort(404)
    villages = [
        {"code": v.code, "name": v.name} for v in access.startable_villages(session, current_user.username, key)
    ]
    if not villages:
        abort(403)
    errors: dict[str, str] = {}
    form = {"title": "", "village": villages[0]["code"], "idempotency_key": _new_key()}
    if request.method == "POST":
        form = {name: (request.form.get(name) or "").strip() for name in form}
        key_text = form["idempotency_key"] or None
        earlier = idempotency.lookup(session, current_user.username, idempotency.check_key(key_text))
        if earlier is not None:
            flash(_("这个事项已经发起过了"), "info")
            return redirect(_after_start(operations.Outcome.repeat_of(earlier)))
        if not form["village"]:
            errors["village"] = _("请选择村")
        if not errors:
            try:
                outcome = run_once(
                    current_user.username,
                    key_text,
                    lambda s: operations.start(
                        s, key, form["village"], current_user.username, {}, form["title"], key_text
                    ),
                )
            except FormInvalid as exc:
                errors = {e.field or "title": _(e.message) for e in exc.errors}
            else:
                if outcome.repeated:
                    flash(_("这个事项已经发起过了"), "info")
                else:
                    flash(_("事项已发起"), "success")
                return redirect(_after_start(outcome))
    status = 400 if errors else 200
    return render_template("cadre/start_item.html", item=item, villages=villages, form=form, errors=errors), status


def _after_start(outcome: operations.Outcome) -> str:
    """Straight to the first step's form when the person who started the matter does it."""
    task_id = operations.first_step_for(db.session(), current_user.username, outcome.opened)
    if task_id is not None:
        return url_for("cadre.task", task_id=task_id)
    return url_for("cadre.matter", instance_id=outcome.instance_id)


def _new_key() -> str:
    return secrets.token_hex(16)
