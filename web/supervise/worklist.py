"""The worklist page, a violation's page with the handling forms, and search results.

The pages parse the request and call the engine (``engine.supervision.worklist``, ``handling``,
``search``); every check and every refusal is the engine's.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.inputs import InputInvalid
from engine.org.roles import ROLES
from engine.supervision import handling, search
from engine.supervision import worklist as engine_worklist
from web import db
from web.i18n import gettext as _
from web.supervise.blueprint import bp, may_open

FILTERS = ("village", "flow", "kind", "colour", "state", "period", "page", "per_page")
ACTION_LABELS = {
    "ack": "签收",
    "assign": "指定整改责任人",
    "rectify": "报告已整改",
    "accept": "整改验收通过",
    "reject": "整改退回",
    "escalate": "上报",
    "dismiss": "不予认定",
    "close": "办结",
}
STATE_LABELS = {
    "open": "待处理",
    "acknowledged": "已签收",
    "escalated": "已上报",
    "rectified": "已整改待验收",
    "closed": "已办结",
}
EVENT_LABELS = {
    "raised": "产生预警",
    "acknowledged": "签收",
    "assigned": "指定整改责任人",
    "rectified": "报告已整改",
    "rectification_submitted": "报送整改材料",
    "rectification_accepted": "整改验收通过",
    "rectification_rejected": "整改退回",
    "escalated": "上报",
    "closed": "办结",
    "upgraded": "升级",
    "rectification_started": "启动整改流程",
    "rectification_unavailable": "按整改期限督办",
    "rectification_overdue": "整改超期",
    "document_issued": "签发文书",
    "document_received": "文书已签收",
    "talk_recorded": "记录谈话",
}
LEVEL_LABELS = {"village": "村务监督委员会", "town": "镇纪委", "county": "县纪委"}


def _labels() -> dict:
    return {
        "action_labels": ACTION_LABELS,
        "state_labels": STATE_LABELS,
        "event_labels": EVENT_LABELS,
        "level_labels": LEVEL_LABELS,
        "role_names": {code: role.name_zh for code, role in ROLES.items()},
    }


@bp.get("/")
def worklist():
    raw = {name: request.args.get(name) for name in FILTERS}
    try:
        filters = engine_worklist.parse_filters(raw)
        listing = engine_worklist.worklist(db.session(), current_user.username, filters)
    except InputInvalid as exc:
        page = render_template("supervise/worklist.html", listing=None, error=exc, args=request.args, **_labels())
        return page, 400

    def keep(page: int) -> dict[str, str]:
        return {**{k: v for k, v in request.args.items() if k in FILTERS and v}, "page": str(page)}

    return render_template(
        "supervise/worklist.html", listing=listing, error=None, args=request.args, keep=keep, **_labels()
    )


def _violation_page(violation_id: int, errors: dict[str, str] | None = None, form: dict | None = None):
    found = engine_worklist.view(db.session(), current_user.username, violation_id)
    return render_template(
        "supervise/violation.html",
        v=found,
        errors=errors or {},
        form=form or {},
        documents=may_open(current_user),
        **_labels(),
    )


@bp.get("/violations/<int:violation_id>")
def violation(violation_id: int):
    return _violation_page(violation_id)


@bp.post("/violations/<int:violation_id>/<action>")
def act(violation_id: int, action: str):
    form = request.form
    fields = {
        "note": form.get("note"),
        "owner_role": form.get("owner_role"),
        "owner_user": form.get("owner_user") or None,
        "deadline": form.get("deadline"),
    }
    options = {"note": fields["note"]}
    if action == "assign":
        options.update(owner_role=fields["owner_role"], owner_user=fields["owner_user"], deadline=fields["deadline"])
    name = current_user.username
    try:
        done = db.write(lambda session: handling.handle(session, violation_id, action, name, **options))
    except InputInvalid as exc:
        page = _violation_page(violation_id, {exc.field or "note": str(exc)}, dict(fields, action=action))
        return page, 400
    flash(_("已{action}", action=_(ACTION_LABELS[done.action])), "success")
    return redirect(url_for("supervise.violation", violation_id=violation_id))


@bp.get("/search")
def search_page():
    query = request.args.get("q", "")
    try:
        results = search.search(db.session(), current_user.username, query)
    except InputInvalid as exc:
        return render_template("supervise/worklist_search.html", results=None, error=exc, q=query[:200]), 400
    return render_template("supervise/worklist_search.html", results=results, error=None, q=results.query)
