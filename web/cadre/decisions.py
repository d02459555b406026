"""决议台账: a village's register of passed decisions, reconciled; the town records and closes them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import FormInvalid, InvalidState
from engine.supervision import decisions
from web import db
from web.cadre.blueprint import bp
from web.i18n import gettext as _


@bp.route("/decisions", methods=["GET", "POST"])
@login_required
def register():
    session = db.session()
    user = current_user.username
    villages = decisions.readable_villages(session, user)
    if not villages:
        abort(404)
    code = request.values.get("village") or villages[0].code
    village = next((v for v in villages if v.code == code), None)
    if village is None:
        abort(404)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            with db.writing() as write:
                if request.form.get("action") == "close":
                    number = request.form.get("number") or ""
                    decisions.close(write, user, village.code, number, request.form.get("reason"))
                    message = _("已关闭 {number}", number=number)
                else:
                    decision = decisions.record_paper(
                        write,
                        user,
                        village.code,
                        kind=request.form.get("kind"),
                        amount_fen=request.form.get("amount") or None,
                        purpose=request.form.get("purpose"),
                        passed_on=request.form.get("passed_on"),
                        note=request.form.get("note"),
                    )
                    message = _("已登记 {number}", number=decision.number)
            flash(message, "success")
            return redirect(url_for("cadre.register", village=village.code))
        except FormInvalid as exc:
            for error in exc.errors:
                errors.setdefault(error.field, []).append(error.message)
            status = 400
        except InvalidState as exc:
            errors.setdefault("", []).append(str(exc))
            status = 400
    year = request.args.get("year", type=int)
    rows = decisions.register_of(session, user, village.code, year)
    return (
        render_template(
            "cadre/decisions.html",
            villages=villages,
            village=village,
            rows=rows,
            year=year,
            keeper=decisions.may_keep(session, user, village),
            kinds=decisions.kinds(session, village.id),
            errors=errors,
            values=request.form if request.method == "POST" else {},
        ),
        status,
    )
