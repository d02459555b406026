"""The documents' API: list, issue (or preview), read, download as PDF and record the receipt of a
预警通知书, 整改通知书 or 三色督查令; list and record talks (约谈, 提醒谈话). Thin wrappers around
:mod:`engine.supervision.notices` and :mod:`engine.supervision.talks`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, request

from engine.inputs import InputInvalid
from engine.supervision import notices, talks
from web import db
from web.api.blueprint import bp
from web.api.views import body, ok, user

ISSUE_FIELDS = {"kind", "violation", "village", "period", "facts", "rectify_by", "preview"}
RECEIPT_FIELDS = {"received_by", "received_on", "note"}
TALK_FIELDS = {
    "kind",
    "violation",
    "village",
    "held_on",
    "place",
    "present",
    "subject_name",
    "subject_office",
    "summary",
    "outcome",
    "follow_up_on",
}


def _only(data: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    for key in sorted(data):
        if key not in allowed:
            raise InputInvalid(f"{key}: not a field here", code="input.invalid", params={"field": key}, field=key)
    return data


def _id(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**53:
        raise InputInvalid(f"{field}: an id (integer)", code="input.invalid", params={"field": field}, field=field)
    return value


def _query_id(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 15:
        raise InputInvalid(f"{name}: an id (integer)", code="input.invalid", params={"field": name}, field=name)
    return int(raw)


def _query_unit() -> str | None:
    return (request.args.get("village") or "")[:16] or None


@bp.get("/documents")
def documents():
    found = notices.documents(db.session(), user(), violation_id=_query_id("violation"), village=_query_unit())
    return ok([asdict(document) for document in found])


@bp.post("/documents")
def issue_document():
    """Issue a document (201), or with ``preview: true`` answer its text without issuing it (200)."""
    data, name = _only(body(), ISSUE_FIELDS), user()
    preview = data.get("preview", False)
    if not isinstance(preview, bool):
        raise InputInvalid("preview: true or false", code="input.invalid", params={"field": "preview"}, field="preview")
    args = {
        "violation_id": _id(data.get("violation"), "violation"),
        "village": data.get("village"),
        "period": data.get("period"),
        "facts": data.get("facts"),
        "rectify_by": data.get("rectify_by"),
    }
    for key in ("village", "period"):
        if args[key] is not None and (not isinstance(args[key], str) or len(args[key]) > 16):
            raise InputInvalid(f"{key}: a code", code="input.invalid", params={"field": key}, field=key)
    if preview:
        return ok(asdict(notices.issue(db.session(), name, data.get("kind"), preview=True, **args)))
    return ok(asdict(db.write(lambda session: notices.issue(session, name, data.get("kind"), **args))), 201)


@bp.get("/documents/<int:document_id>")
def document(document_id: int):
    return ok(asdict(notices.get_document(db.session(), user(), document_id)))


@bp.get("/documents/<int:document_id>/pdf")
def document_pdf(document_id: int):
    found = notices.get_document(db.session(), user(), document_id)
    response = Response(notices.render_pdf(found), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="document-{document_id}.pdf"'
    return response


@bp.post("/documents/<int:document_id>/receipt")
def document_receipt(document_id: int):
    data, name = _only(body(), RECEIPT_FIELDS), user()
    received = db.write(
        lambda session: notices.receive(
            session,
            name,
            document_id,
            data.get("received_by"),
            received_on=data.get("received_on"),
            note=data.get("note"),
        )
    )
    return ok(asdict(received))


@bp.get("/talks")
def talk_list():
    found = talks.talks(db.session(), user(), violation_id=_query_id("violation"), village=_query_unit())
    return ok([asdict(talk) for talk in found])


@bp.post("/talks")
def talk_record():
    data, name = _only(body(), TALK_FIELDS), user()
    village = data.get("village")
    if village is not None and (not isinstance(village, str) or len(village) > 16):
        raise InputInvalid("village: a code", code="input.invalid", params={"field": "village"}, field="village")
    fields = {k: v for k, v in data.items() if k not in ("kind", "violation", "village")}
    violation_id = _id(data.get("violation"), "violation")
    recorded = db.write(
        lambda session: talks.record(
            session, name, data.get("kind"), violation_id=violation_id, village=village, **fields
        )
    )
    return ok(asdict(recorded), 201)
