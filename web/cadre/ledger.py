"""The village accounts for the staff who keep them (村账镇代管): upload a month's journal for 我们的钱包,
see its problems or a preview, confirm; the list of imports. The same engine command as
``powerlist ledger import`` (:func:`engine.public.ledger.import_journal`)."""

from __future__ import annotations

import base64
import binascii

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import Conflict, PowerlistError
from engine.policy.rules import access_rules
from engine.public import ledger
from engine.public.spreadsheets import SheetInvalid
from web import db, menu
from web.cadre.blueprint import bp
from web.i18n import gettext as _


def _keeps_accounts(user) -> bool:
    roles = {h.role for h in user.profile.holdings}
    return bool(roles & access_rules().roles("keeping_accounts"))


@bp.route("/ledger", methods=["GET", "POST"])
@login_required
def ledger_imports():
    session = db.session()
    user = current_user.username
    villages = ledger.keepable_villages(session, user)
    code = request.values.get("village") or (villages[0].code if villages else "")
    if not code:
        abort(404)
    problems: list[str] = []
    preview = None
    encoded = ""
    status = 200
    values = request.form if request.method == "POST" else {}
    if request.method == "POST":
        month = request.form.get("month", "")
        upload = request.files.get("journal")
        if upload is not None and upload.filename:
            data, name = upload.read(), upload.filename
        else:
            try:
                data = base64.b64decode(request.form.get("data", ""), validate=True)
            except (binascii.Error, ValueError):
                data = b""
            name = request.form.get("file_name", "")
        try:
            if request.form.get("action") == "confirm":
                with db.writing() as writing:
                    row = ledger.import_journal(
                        writing,
                        user,
                        code,
                        month,
                        data,
                        name,
                        replace=bool(request.form.get("replace")),
                        reason=request.form.get("reason"),
                    )
                flash(_("已导入 {month}：{n} 行", month=row.month, n=row.lines), "success")
                return redirect(url_for("cadre.ledger_imports", village=code))
            preview = ledger.preview(session, user, code, month, data, name)
            encoded = base64.b64encode(data).decode("ascii")
        except ledger.JournalInvalid as exc:
            problems = [str(p) for p in exc.problems]
            status = 400
        except (SheetInvalid, Conflict, ledger.MonthInvalid) as exc:
            problems = [str(exc)]
            status = 400
        except PowerlistError as exc:
            if exc.code != "ledger.reason_required":
                raise
            problems = [str(exc)]
            status = 400
    rows = ledger.imports(session, user, code)
    return (
        render_template(
            "cadre/ledger.html",
            villages=villages,
            code=code,
            rows=rows,
            preview=preview,
            encoded=encoded,
            problems=problems,
            values=values,
        ),
        status,
    )


menu.add("村集体账目", "cadre.ledger_imports", _keeps_accounts, order=47)
