"""The guided task form, its live legal checks, and the approval operations on an open step."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import Conflict, FieldError, FormInvalid, InvalidState, NotFound, PermissionDenied, PowerlistError
from engine.persistence.enums import MatterStatus
from engine.persistence.ids import parse_id
from engine.runtime import forms
from engine.workspace import attachments, idempotency, matter_detail, operations, waivers
from engine.workspace.operations import Outcome
from web import db, shaping
from web import forms as web_forms
from web.actions import run_once, store_files
from web.cadre.blueprint import bp
from web.i18n import gettext as _


def _task_id(text: str) -> str:
    task_id = matter_detail.uuid_or_none(text)
    if task_id is None:
        abort(404)
    return task_id


def _render(
    view: dict[str, Any],
    values: dict[str, Any],
    errors: list[FieldError],
    key: str,
    kept: dict[str, list[dict[str, Any]]],
    waive_reason: str = "",
    status: int = 200,
):
    by_field: dict[str, list[str]] = {}
    for error in errors:
        by_field.setdefault(error.field.split(".")[0], []).append(error.message)
    spec = view["spec"]
    data, _parse_errors = web_forms.parse_form(spec, {k: v if isinstance(v, list) else [v] for k, v in values.items()})
    verdict = forms.evaluate(view["schema"], data)
    checks = verdict.checks if spec.checks else []
    # 仍要提交 only after a refusal, and only when every failed check may be waived (rule data).
    failed_ids = [c.id for c in checks if c.ok is False]
    offer_waiver = bool(errors) and waivers.offered(db.session(), view["instance"], failed_ids)
    return (
        render_template(
            "cadre/task.html",
            task=view,
            spec=spec,
            values=values,
            errors=by_field,
            general_errors=[e.message for e in errors if e.field.split(".")[0] not in _known(spec)],
            checks=checks,
            checks_summary=verdict.summary(),
            idempotency_key=key,
            kept=kept,
            waive_reason=waive_reason,
            failed_checks=offer_waiver,
        ),
        status,
    )


def _known(spec: forms.FormSpec) -> set[str]:
    return {f.name for f in spec.fields} | {a["name"] for a in spec.attachments}


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str):
    task_id = _task_id(task_id)
    view = shaping.task(matter_detail.task(db.session(), current_user.username, task_id))
    first = forms.prefill_values(view["spec"], view)  # x-prefill: e.g. the title typed at start
    values = web_forms.form_values(view["spec"], {**first, **(view["previous"] or {})})
    kept: dict[str, list[dict[str, Any]]] = {}
    for row in view["kept_attachments"]:
        kept.setdefault(row["slot"] or "", []).append(row)
    return _render(view, values, [], secrets.token_hex(16), kept)


@bp.post("/tasks/<task_id>")
@login_required
def submit(task_id: str):
    task_id = _task_id(task_id)
    user = current_user.username
    key = idempotency.check_key(request.form.get("idempotency_key") or None)
    earlier = idempotency.lookup(db.session(), user, key)
    if earlier is not None:
        return _done(Outcome.repeat_of(earlier))
    view = shaping.task(matter_detail.task(db.session(), user, task_id))
    spec = view["spec"]
    submitted = request.form.to_dict(flat=False)
    data, errors = web_forms.parse_form(spec, submitted)
    chosen: dict[str, list[int]] = {}
    for slot in spec.attachments:
        name = slot["name"]
        kept_ids = [i for i in (parse_id(x) for x in request.form.getlist(f"keep_{name}")) if i is not None]
        new_ids, upload_errors = store_files(request.files.getlist(f"file_{name}"), user, name)
        errors += upload_errors
        if kept_ids or new_ids:
            chosen[name] = kept_ids + new_ids
    waive_reason = (request.form.get("waive_reason") or "").strip() if request.form.get("waive") else None
    status = 400
    if not errors:
        try:
            outcome = run_once(
                user, key, lambda s: operations.complete(s, task_id, user, data, chosen, waive_reason, key)
            )
            return _done(outcome)
        except FormInvalid as exc:
            errors = exc.errors
        except (NotFound, PermissionDenied):
            raise
        except PowerlistError as exc:
            # Waiting for an added approver, a reason too short, a step someone else just did…
            errors = [FieldError("", str(exc))]
            status = 409 if isinstance(exc, InvalidState | Conflict) else 400
    else:
        # Everything else wrong is shown with what could not be read: requiredness, types, checks.
        failed = {e.field for e in errors}
        everything = forms.evaluate(view["schema"], data).all_errors()
        errors += [e for e in everything if e.field.split(".")[0] not in failed]
    kept = _kept(user, chosen, view["instance"], view["step"])
    values = {k: v if len(v) > 1 else v[0] for k, v in submitted.items() if not k.startswith(("keep_", "csrf"))}
    return _render(view, values, errors, key or secrets.token_hex(16), kept, waive_reason or "", status)


def _kept(user: str, chosen: dict[str, list[int]], instance_id: int, step_id: str) -> dict[str, list[dict[str, Any]]]:
    session = db.session()
    kept: dict[str, list[dict[str, Any]]] = {}
    for slot, ids in chosen.items():
        rows = attachments.own_uploads(session, user, ids, instance_id, step_id)
        kept[slot] = [{"id": r.id, "filename": r.filename, "size": r.size, "sha256": r.sha256} for r in rows]
    return kept


def _done(outcome: Outcome):
    if outcome.repeated:
        flash(_("这份表单已经提交过了，下面是提交后的情况"), "info")
    elif outcome.parked:
        flash(_("已提交，正在等待加签人审批"), "success")
    elif outcome.status == MatterStatus.COMPLETED:
        flash(_("已提交，事项已办结"), "success")
    elif outcome.opened:
        names = "、".join(o["name"] for o in outcome.opened)
        flash(_("已提交。下一步：{names}", names=names), "success")
    else:
        flash(_("已提交"), "success")
    return redirect(url_for("cadre.matter", instance_id=outcome.instance_id))


@bp.post("/tasks/<task_id>/check")
@login_required
def check(task_id: str):
    """Field errors and legal checks of what has been typed so far (the form calls this as the cadre types)."""
    task_id = _task_id(task_id)
    view = matter_detail.task(db.session(), current_user.username, task_id)
    data, errors = web_forms.parse_form(view.spec, request.form.to_dict(flat=False))
    return jsonify(asdict(forms.live_check(view.schema, data, errors)))


def _reason() -> str:
    return request.form.get("reason") or ""


def _operate(task_id: str, run, message: str, back: str = "task"):
    """Run an operation on a step; a refusal is shown on the page the cadre came from."""
    try:
        with db.writing() as session:
            outcome = run(session)
    except (NotFound, PermissionDenied):
        raise
    except PowerlistError as exc:
        flash(str(exc), "error")
        try:
            row = matter_detail.require_visible_task(db.session(), current_user.username, task_id)
        except NotFound:
            return redirect(url_for("cadre.inbox"))
        if back == "matter":
            return redirect(url_for("cadre.matter", instance_id=row.instance_id))
        return redirect(url_for("cadre.task", task_id=task_id))
    flash(message, "success")
    if back == "task" and outcome.operation == "add_approver":
        return redirect(url_for("cadre.task", task_id=task_id))
    return redirect(url_for("cadre.matter", instance_id=outcome.instance_id))


@bp.post("/tasks/<task_id>/reject")
@login_required
def reject(task_id: str):
    task_id = _task_id(task_id)
    user = current_user.username
    return _operate(task_id, lambda s: operations.reject(s, task_id, user, _reason()), _("已驳回，事项终止"))


@bp.post("/tasks/<task_id>/return")
@login_required
def return_to(task_id: str):
    task_id = _task_id(task_id)
    user, step = current_user.username, request.form.get("step") or ""
    return _operate(task_id, lambda s: operations.return_to(s, task_id, user, step, _reason()), _("已退回"))


@bp.post("/tasks/<task_id>/transfer")
@login_required
def transfer(task_id: str):
    task_id = _task_id(task_id)
    user, to = current_user.username, request.form.get("to") or ""
    return _operate(task_id, lambda s: operations.transfer(s, task_id, user, to, _reason()), _("已转办"))


@bp.post("/tasks/<task_id>/approvers")
@login_required
def add_approver(task_id: str):
    task_id = _task_id(task_id)
    user = current_user.username
    approver, position = request.form.get("approver") or "", request.form.get("position") or ""
    return _operate(
        task_id,
        lambda s: operations.add_approver(s, task_id, user, approver, position, _reason()),
        _("已加签，等待加签人审批"),
    )


@bp.post("/tasks/<task_id>/remind")
@login_required
def remind(task_id: str):
    task_id = _task_id(task_id)
    user, note = current_user.username, request.form.get("note")
    return _operate(task_id, lambda s: operations.remind(s, task_id, user, note), _("已催办"), back="matter")
