"""API views: thin wrappers around engine.api and engine.workspace, answering JSON."""

from __future__ import annotations

import re
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from flask import Response, abort, g, jsonify, request, send_file

from engine import api as engine_api
from engine.clock import format_time
from engine.errors import DefinitionInvalid, PowerlistError
from engine.inputs import InputInvalid, limit, read_object
from engine.runtime import forms
from engine.workspace import access, attachments, idempotency, inbox, matter_detail, operations
from engine.workspace import admin as flows_admin
from engine.workspace.operations import Outcome
from web import db, flow_changes
from web.actions import attachments_folder, run_once
from web.api.blueprint import bp
from web.api.openapi import document


class BadInput(PowerlistError):
    """A request body or parameter that is not what the API takes; the message names the field."""


def _json(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _json(asdict(value))
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items() if k not in ("spec", "schema")}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def ok(value: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(_json(value)), status


OBJECT_REQUIRED = "请求体必须是 JSON 对象：the request body must be a JSON object (Content-Type: application/json)"


def body() -> dict[str, Any]:
    """The request's JSON object, read by the one input reader (:mod:`engine.inputs`).

    Values beyond its limits answer 400 naming the field (``data.amount_fen``); a body that is
    not a JSON object at all says so, with what is wrong with it.
    """
    if "_body" in g:
        return g._body
    if not request.is_json:
        raise InputInvalid(OBJECT_REQUIRED, code="input.not_object", params={"field": "body"}, field="body")
    most = limit("max_body_bytes")
    if request.content_length is not None and request.content_length > most:
        raise InputInvalid(
            f"{OBJECT_REQUIRED}: at most {most} bytes",
            code="input.too_large",
            params={"field": "body", "max": most},
            field="body",
        )
    try:
        data = read_object(request.get_data(cache=True), root="")
    except InputInvalid as exc:
        if exc.field == "body":
            raise InputInvalid(f"{OBJECT_REQUIRED}: {exc}", code=exc.code, params=exc.params, field="body") from None
        raise
    g._body = data
    return data


def text(data: dict[str, Any], name: str, required: bool = True, limit: int = 4000) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadInput(f"{name}: a non-empty string is required")
    if len(value) > limit:
        raise BadInput(f"{name}: at most {limit} characters")
    return value


def _task_id(task_id: str) -> str:
    found = matter_detail.uuid_or_none(task_id)
    if found is None:
        abort(404)
    return found


def user() -> str:
    return g.api_user


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


@bp.get("/me")
def me():
    profile = access.profile(db.session(), user())
    return ok(
        {
            "username": profile.username,
            "display_name": profile.display_name,
            "roles": [{"role": h.role, "unit": h.unit_code, "unit_name": h.unit_name} for h in profile.holdings],
        }
    )


@bp.get("/items")
def items():
    return ok(inbox.catalogue(db.session(), request.args.get("q")))


@bp.get("/tasks")
def tasks():
    return ok(inbox.todo(db.session(), user()))


@bp.get("/tasks/<task_id>")
def task(task_id: str):
    view = matter_detail.task(db.session(), user(), _task_id(task_id))
    result = {k: v for k, v in view.items() if k not in ("spec", "schema", "summary", "reason")}
    result["form"] = view["schema"]
    result["summary"] = view["summary"].as_dict()  # the matter at a glance, with the reason it came back
    return ok(result)


def _attachment_ids(data: dict[str, Any]) -> dict[str, list[int]]:
    raw = data.get("attachments", {})
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v)
        for k, v in raw.items()
    ):
        raise BadInput('attachments: an object like {"minutes": [12, 13]} of upload ids per attachment name')
    return raw


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str):
    task_id = _task_id(task_id)
    data = body()
    form = data.get("data")
    if not isinstance(form, dict):
        raise BadInput("data: the step's form data as a JSON object is required")
    ids = _attachment_ids(data)
    waive = text(data, "waive_reason", required=False)
    key = idempotency.check_key(text(data, "idempotency_key", required=False, limit=64))
    earlier = idempotency.lookup(db.session(), user(), key)
    if earlier is not None:
        return ok(dict(earlier, repeated=True))
    name = user()
    outcome = run_once(name, key, lambda s: operations.complete(s, task_id, name, form, ids, waive, key))
    return ok(outcome.as_dict())


@bp.post("/tasks/<task_id>/check")
def check(task_id: str):
    view = matter_detail.task(db.session(), user(), _task_id(task_id))
    form = body().get("data")
    if not isinstance(form, dict):
        raise BadInput("data: the form data as a JSON object is required")
    found = asdict(forms.live_check(view["schema"], form))  # every error at once, as the page shows them
    found["fields"] = [{"field": name, "message": message} for name, message in found["fields"].items()]
    return ok(found)


def _operate(run) -> tuple[Response, int]:
    with db.writing() as session:
        outcome: Outcome = run(session)
    return ok(outcome.as_dict())


@bp.post("/tasks/<task_id>/reject")
def reject(task_id: str):
    task_id, data, name = _task_id(task_id), body(), user()
    return _operate(lambda s: operations.reject(s, task_id, name, text(data, "reason")))


@bp.post("/tasks/<task_id>/return")
def return_to(task_id: str):
    task_id, data, name = _task_id(task_id), body(), user()
    return _operate(
        lambda s: operations.return_to(s, task_id, name, text(data, "step", limit=100), text(data, "reason"))
    )


@bp.post("/tasks/<task_id>/transfer")
def transfer(task_id: str):
    task_id, data, name = _task_id(task_id), body(), user()
    return _operate(lambda s: operations.transfer(s, task_id, name, text(data, "to", limit=64), text(data, "reason")))


@bp.post("/tasks/<task_id>/remind")
def remind(task_id: str):
    task_id, data, name = _task_id(task_id), body(), user()
    return _operate(lambda s: operations.remind(s, task_id, name, text(data, "note", required=False)))


@bp.post("/tasks/<task_id>/approvers")
def add_approver(task_id: str):
    task_id, data, name = _task_id(task_id), body(), user()
    return _operate(
        lambda s: operations.add_approver(
            s, task_id, name, text(data, "approver", limit=64), text(data, "position", limit=8), text(data, "reason")
        )
    )


@bp.get("/approvals")
def approvals():
    return ok(inbox.approvals(db.session(), user()))


@bp.post("/approvals/<int:approval_id>/decide")
def decide(approval_id: int):
    data, name = body(), user()
    agree = data.get("agree")
    if not isinstance(agree, bool):
        raise BadInput("agree: true or false is required")
    return _operate(lambda s: operations.decide(s, approval_id, name, agree, text(data, "comment", required=False)))


@bp.post("/matters")
def start():
    data, name = body(), user()
    key = text(data, "key", limit=100)
    village = text(data, "village", limit=32)
    title = text(data, "title", required=False, limit=200)
    initial = data.get("data", {})
    if not isinstance(initial, dict):
        raise BadInput("data: a JSON object is required")
    idem = idempotency.check_key(text(data, "idempotency_key", required=False, limit=64))
    earlier = idempotency.lookup(db.session(), name, idem)
    if earlier is not None:
        return ok(dict(earlier, repeated=True), 200)

    def run(session) -> Outcome:
        return operations.start(session, key, village, name, initial, title, idem)

    return ok(run_once(name, idem, run).as_dict(), 201)


@bp.get("/matters")
def started():
    return ok(inbox.started(db.session(), user()))


@bp.get("/villages/<village>/decisions")
def decisions(village: str):
    from dataclasses import asdict

    from engine.supervision import decisions as register

    year = request.args.get("year", type=int)
    return ok([asdict(entry) for entry in register.register_of(db.session(), user(), village[:16], year)])


@bp.get("/matters/<int:instance_id>")
def matter(instance_id: int):
    return ok(matter_detail.matter(db.session(), user(), instance_id))


@bp.get("/matters/<int:instance_id>/history")
def history(instance_id: int):
    from engine import queries

    session = db.session()
    access.visible_instance(session, user(), instance_id)
    return ok(queries.history(session, instance_id))


@bp.get("/matters/<int:instance_id>/diagram.svg")
def diagram(instance_id: int):
    svg = matter_detail.diagram_svg(db.session(), user(), instance_id)
    if not svg:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.post("/matters/<int:instance_id>/withdraw")
def withdraw(instance_id: int):
    data, name = body(), user()
    return _operate(lambda s: operations.withdraw(s, instance_id, name, text(data, "reason")))


@bp.post("/matters/<int:instance_id>/copy")
def copy(instance_id: int):
    data, name = body(), user()
    recipients = data.get("to")
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise BadInput("to: a list of user names is required")
    return _operate(lambda s: operations.copy(s, instance_id, name, recipients, text(data, "note", required=False)))


@bp.get("/matters/<int:instance_id>/attachments/<sha256>")
def attachment(instance_id: int, sha256: str):
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        abort(404)
    row = attachments.for_viewing(db.session(), user(), instance_id, sha256)
    path = attachments.read_blob(attachments_folder(), row)
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename)


@bp.post("/attachments")
def upload():
    files = request.files.getlist("file")
    if not files or not files[0].filename:
        raise BadInput("file: send the file as multipart/form-data field 'file'")
    stored = []
    for upload_file in files[:20]:
        content = upload_file.stream.read(attachments.MAX_ATTACHMENT_BYTES + 1)
        with db.writing() as session:
            row = attachments.store_upload(session, attachments_folder(), content, upload_file.filename, user())
            stored.append(
                {
                    "id": row.id,
                    "sha256": row.sha256,
                    "filename": row.filename,
                    "size": row.size,
                    "type": row.content_type,
                }
            )
    return ok(stored, 201)


def _require_admin() -> None:
    """Refuse a flow upload from anyone who administers no county, before reading the files."""
    flows_admin.require_flow_admin(db.session(), user())


@bp.get("/definitions")
def definitions():
    """The flows published to the caller's counties."""
    return ok(flows_admin.items(db.session(), user()))


@bp.post("/definitions")
def upload_definition():
    """Validate an uploaded flow; with ``deploy=true`` also deploy it when it is valid."""
    _require_admin()
    files = [
        (f.filename, f.stream.read(flows_admin.MAX_ZIP_BYTES + 1))
        for f in request.files.getlist("files")
        if f and f.filename
    ]
    if not files:
        raise BadInput("files: send the BPMN file and its forms (or a zip) as multipart field 'files'")
    collected = flows_admin.collect_upload(files)
    report = flows_admin.validate(collected)
    if not report.ok:
        raise DefinitionInvalid(report.problems)
    result: dict[str, Any] = {"ok": True, "preview": flows_admin.preview(report)}
    if request.form.get("deploy") in ("1", "true", "yes"):
        with db.writing() as session:
            deployed = engine_api.deploy_upload(
                session, collected.bpmn or b"", collected.bpmn_name or "upload.bpmn", collected.forms, user()
            )
        result["deployed"] = {"key": deployed.key, "version": deployed.version, "created": deployed.created}
    return ok(result)


@bp.get("/definitions/<key>")
def definition_versions(key: str):
    return ok(flow_changes.versions(flows_admin.versions(db.session(), key, user())))


@bp.post("/definitions/<key>/versions/<int:version>/retire")
def retire(key: str, version: int):
    with db.writing() as session:
        flows_admin.retire_version(session, key, version, user())
    return ok({"key": key, "version": version, "retired": True})
