"""Documents and talks on the supervisors' pages: issue a 预警通知书, 整改通知书 or 三色督查令 (preview
first), print or download it as PDF, record its receipt; record a 约谈 or 提醒谈话.

The pages parse the request and call :mod:`engine.supervision.notices` and
:mod:`engine.supervision.talks`; every check and every refusal is the engine's.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.inputs import InputInvalid
from engine.messages import describe
from engine.supervision import notices, talks
from engine.supervision.models import Violation
from web import db
from web.i18n import gettext as _
from web.i18n import locale_or_default
from web.supervise.blueprint import bp

KIND_LABELS = {"warning": "预警通知书", "rectification": "整改通知书", "order": "三色督查令"}
TALK_LABELS = {"interview": "约谈", "reminder": "提醒谈话"}
ISSUE_FIELDS = ("kind", "violation", "village", "period", "facts", "rectify_by")
TALK_FIELDS = (
    "kind",
    "held_on",
    "place",
    "present",
    "subject_name",
    "subject_office",
    "summary",
    "outcome",
    "follow_up_on",
)


def _worded(exc: InputInvalid) -> str:
    return describe(exc, locale_or_default())


def _labels() -> dict:
    return {"kind_labels": KIND_LABELS, "talk_labels": TALK_LABELS}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def _issue_args(source) -> dict:
    values = {name: (source.get(name) or "").strip() or None for name in ISSUE_FIELDS}
    return {
        "kind": values["kind"],
        "violation_id": _int(values["violation"]),
        "village": values["village"],
        "period": values["period"],
        "facts": values["facts"],
        "rectify_by": values["rectify_by"],
    }, values


@bp.get("/documents/")
def documents():
    """The documents and talks in the user's scope, newest first, and the form for a grade's notice."""
    session, name = db.session(), current_user.username
    village = (request.args.get("village") or "").strip()[:16] or None
    return render_template(
        "supervise/documents.html",
        documents=notices.documents(session, name, village=village),
        talks=talks.talks(session, name, village=village),
        village=village or "",
        **_labels(),
    )


@bp.get("/violations/<int:violation_id>/documents")
def violation_documents(violation_id: int, errors: dict | None = None, form: dict | None = None):
    """A violation's documents and talks, the buttons for the kinds the user may issue, and the talk form."""
    from engine.supervision import worklist

    session, name = db.session(), current_user.username
    violation = worklist.view(session, name, violation_id)  # refuses a violation out of scope
    row = session.get(Violation, violation_id)
    return render_template(
        "supervise/documents_violation.html",
        v=violation,
        kinds=notices.issuable(session, name, row),
        talk_kinds=[k for k in talks.KINDS if talks.may_record(session, name, k, row.village_id)],
        documents=notices.documents(session, name, violation_id=violation_id),
        talks=talks.talks(session, name, violation_id=violation_id),
        errors=errors or {},
        form=form or {},
        **_labels(),
    )


@bp.get("/documents/new")
def document_new():
    """The document as it would be issued now (its number shown as 〔…〕), with the button to issue it."""
    args, values = _issue_args(request.args)
    try:
        preview = notices.issue(db.session(), current_user.username, preview=True, **args)
    except InputInvalid as exc:
        page = render_template(
            "supervise/document_new.html",
            preview=None,
            error=exc,
            error_text=_worded(exc),
            values=values,
            **_labels(),
        )
        return page, 400
    return render_template("supervise/document_new.html", preview=preview, error=None, values=values, **_labels())


@bp.post("/documents/new")
def document_issue():
    args, values = _issue_args(request.form)
    name = current_user.username
    try:
        issued = db.write(lambda session: notices.issue(session, name, **args))
    except InputInvalid as exc:
        page = render_template(
            "supervise/document_new.html",
            preview=None,
            error=exc,
            error_text=_worded(exc),
            values=values,
            **_labels(),
        )
        return page, 400
    flash(_("已签发 {number}", number=issued.number), "success")
    return redirect(url_for("supervise.document", document_id=issued.id))


@bp.get("/documents/<int:document_id>")
def document(document_id: int, error: InputInvalid | None = None, form: dict | None = None):
    session, name = db.session(), current_user.username
    found = notices.get_document(session, name, document_id)
    from engine import policy
    from engine.supervision.models import SupervisionDocument

    row = session.get(SupervisionDocument, document_id)
    may_receive = found.received_at is None and policy.may(session, name, "notice.receive", row)
    return render_template(
        "supervise/document.html",
        d=found,
        may_receive=may_receive,
        error=error,
        error_text=_worded(error) if error else "",
        form=form or {},
        **_labels(),
    )


@bp.get("/documents/<int:document_id>/print")
def document_print(document_id: int):
    """The document as its own printable page (A4, QR code inline)."""
    found = notices.get_document(db.session(), current_user.username, document_id)
    return Response(notices.render_html(found), mimetype="text/html")


@bp.get("/documents/<int:document_id>/pdf")
def document_pdf(document_id: int):
    found = notices.get_document(db.session(), current_user.username, document_id)
    response = Response(notices.render_pdf(found), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="document-{document_id}.pdf"'
    return response


@bp.post("/documents/<int:document_id>/receipt")
def document_receipt(document_id: int):
    form = {name: request.form.get(name) for name in ("received_by", "received_on", "note")}
    name = current_user.username
    try:
        done = db.write(
            lambda session: notices.receive(
                session, name, document_id, form["received_by"], received_on=form["received_on"], note=form["note"]
            )
        )
    except InputInvalid as exc:
        return document(document_id, exc, form), 400
    flash(_("已登记签收：{number}", number=done.number), "success")
    return redirect(url_for("supervise.document", document_id=document_id))


@bp.post("/violations/<int:violation_id>/documents/talks")
def talk_record(violation_id: int):
    form = {name: request.form.get(name) for name in TALK_FIELDS}
    values = {k: v for k, v in form.items() if k != "kind"}
    name = current_user.username
    try:
        db.write(lambda session: talks.record(session, name, form["kind"], violation_id=violation_id, **values))
    except InputInvalid as exc:
        return violation_documents(violation_id, {exc.field or "summary": _worded(exc)}, form), 400
    flash(_("已记录{kind}", kind=_(TALK_LABELS.get(form["kind"] or "", ""))), "success")
    return redirect(url_for("supervise.violation_documents", violation_id=violation_id))
