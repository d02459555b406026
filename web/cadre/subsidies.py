"""Subsidy rosters for the staff who keep them: upload a spreadsheet, check it, publish it, withdraw it.

The same engine commands as ``powerlist subsidies import|withdraw|list|households``
(:mod:`engine.public.subsidies`): who may is the one access policy's (``subsidy.*``)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import Conflict, InvalidState, NotFound, PermissionDenied, PowerlistError
from engine.policy.rules import access_rules
from engine.public import subsidies
from engine.public.spreadsheets import SheetInvalid
from web import db, menu
from web.cadre.blueprint import bp
from web.i18n import gettext as _


def _keeps_rosters(user) -> bool:
    roles = {h.role for h in user.profile.holdings}
    return bool(roles & access_rules().roles("keeping_rosters"))


def _upload() -> tuple[bytes, str]:
    upload = request.files.get("roster")
    if upload is not None and upload.filename:
        return upload.read(), upload.filename
    try:
        data = base64.b64decode(request.form.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    return data, request.form.get("file_name", "")


@bp.route("/subsidies", methods=["GET", "POST"])
@login_required
def subsidy_rosters():
    session = db.session()
    user = current_user.username
    villages = subsidies.villages_for(session, user)
    if not villages:
        abort(404)
    code = request.values.get("village") or villages[0].code
    if code not in {v.code for v in villages}:
        abort(404)
    problems: list[str] = []
    preview = None
    encoded = ""
    status = 200
    values = request.form if request.method == "POST" else {}
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "withdraw":
                with db.writing() as writing:
                    row = subsidies.withdraw(
                        writing, user, request.form.get("roster", type=int) or 0, request.form.get("reason", "")
                    )
                flash(_("已撤下 {period} {kind}", period=row.period_label, kind=row.kind_name), "success")
                return redirect(url_for("cadre.subsidy_rosters", village=code))
            data, name = _upload()
            kind, period = request.form.get("kind", ""), request.form.get("period", "")
            if action == "confirm":
                with db.writing() as writing:
                    done = subsidies.import_roster(
                        writing, user, data, name, code, kind, period, replace=bool(request.form.get("replace"))
                    )
                flash(
                    _("已发布 {period} {kind}：{n} 户", period=done.period, kind=done.kind_name, n=done.households),
                    "success",
                )
                return redirect(url_for("cadre.subsidy_rosters", village=code))
            preview = asdict(subsidies.preview(session, user, data, name, code, kind, period))
            encoded = base64.b64encode(data).decode("ascii")
        except subsidies.RosterInvalid as exc:
            problems = [str(p) for p in exc.problems]
            status = 400
        except (SheetInvalid, Conflict, InvalidState, NotFound) as exc:
            problems = [str(exc)]
            status = 400
        except PermissionDenied:
            raise
        except PowerlistError as exc:
            if not exc.code.startswith("subsidy."):
                raise
            problems = [str(exc)]
            status = 400
    return (
        render_template(
            "cadre/subsidies.html",
            villages=villages,
            code=code,
            rows=subsidies.rosters_for_staff(session, user, code),
            households=subsidies.households_of(session, user, code) if request.args.get("households") else None,
            kinds=subsidies.rules().kinds,
            preview=preview,
            encoded=encoded,
            problems=problems,
            values=values,
        ),
        status,
    )


menu.add("补贴名册", "cadre.subsidy_rosters", _keeps_rosters, order=46)
