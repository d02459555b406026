"""三务公开 for the village's cadres and its committee: what is due, prepare, review, post."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import FieldError, FormInvalid, InvalidState, NotFound, PermissionDenied
from engine.public import disclosures as area
from web import db, menu
from web.cadre.blueprint import bp
from web.i18n import gettext as _


@bp.route("/disclosures", methods=["GET", "POST"])
@login_required
def disclosures():
    session = db.session()
    user = current_user.username
    villages = area.readable_villages(session, user)
    if not villages:
        abort(404)
    code = request.values.get("village") or villages[0].code
    village = next((v for v in villages if v.code == code), None)
    if village is None:
        abort(404)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        kind, period = request.form.get("kind") or "", request.form.get("period") or ""
        try:
            with db.writing() as write:
                if action == "prepare":
                    area.prepare(write, user, village.code, kind, period, note=request.form.get("note"))
                    message = _("已生成，等待村监会审核")
                elif action == "approve":
                    area.review(write, user, village.code, kind, period, revision=_revision(), approve=True)
                    message = _("已审核签字")
                elif action == "return":
                    reason = request.form.get("reason")
                    area.review(
                        write, user, village.code, kind, period, revision=_revision(), approve=False, reason=reason
                    )
                    message = _("已退回")
                elif action == "post":
                    area.post(write, user, village.code, kind, period, places=request.form.getlist("places"))
                    message = _("已公开")
                else:
                    abort(400)
            flash(message, "success")
            return redirect(url_for("cadre.disclosures", village=village.code))
        except FormInvalid as exc:
            errors += [error.message for error in exc.errors]
            status = 400
        except (InvalidState, NotFound) as exc:
            errors.append(str(exc))
            status = 400
        except PermissionDenied as exc:
            errors.append(str(exc))
            status = 403
    rows = area.due_for(session, user, village.code)
    return (
        render_template(
            "cadre/disclosures.html",
            villages=villages,
            village=village,
            rows=rows,
            places=area.places(),
            may={a: area.may(session, user, a, village) for a in ("prepare", "review", "post")},
            errors=errors,
        ),
        status,
    )


def _revision() -> int:
    """The revision the reviewer read (a hidden field of the review form)."""
    text = (request.form.get("revision") or "").strip()
    if not text.isdigit() or not 0 < len(text) < 10:
        raise FormInvalid(_("审核三务公开"), [FieldError("revision", _("请从页面上审核（缺少所看内容的版本号）"))])
    return int(text)


def _discloses(user) -> bool:
    """The village's cadres prepare and post, its 村监会 signs: a daily task of both."""
    from engine.policy.rules import access_rules

    rules = access_rules()
    return user.holds(*(rules.roles("disclosing") | rules.roles("supervising") | rules.roles("read_only")))


menu.add("三务公开", "cadre.disclosures", _discloses, order=47)
