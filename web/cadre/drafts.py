"""Drafts of the task and start forms, for the page's script (``static/drafts.js``): read, save and
discard as JSON. The pages work without them; the engine (:mod:`engine.workspace.drafts`) decides.

Also: a form the script sends with ``fetch`` (header ``X-Powerlist-Submit: fetch``) gets its
redirect as JSON, so the flash message waits for the page the script then opens.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import abort, jsonify, request
from flask_login import current_user, login_required

from engine.errors import PowerlistError
from engine.inputs import InputInvalid, limit, read_object
from engine.workspace import drafts, matter_detail
from web import db
from web.cadre.blueprint import bp
from web.errors import error_body, status_of
from web.formatting import localtime
from web.i18n import gettext as _

SUBMIT_HEADER = "X-Powerlist-Submit"


@bp.app_context_processor
def draft_context() -> dict[str, Any]:
    return {"draft_messages": draft_messages}


def draft_messages() -> dict[str, str]:
    """The script's words, in the reader's language."""
    return {
        "restored": _("已恢复草稿"),
        "discard": _("丢弃"),
        "offline": _("网络连接中断，表单已保留在本机，恢复连接后会自动提交。"),
        "retry": _("立即重试"),
        "sending": _("正在重新提交…"),
    }


def draft_json(draft: drafts.Draft | None) -> dict[str, Any] | None:
    if draft is None:
        return None
    saved = draft.saved_at
    return dict(asdict(draft), saved_at=saved.isoformat(), saved_at_local=localtime(saved))


def _answer(run) -> Any:
    """Run a draft command; its refusal answered as JSON whatever the client accepts."""
    try:
        return run()
    except PowerlistError as exc:
        return jsonify({"error": error_body(exc)}), status_of(exc)


def _body() -> dict[str, Any]:
    most = limit("max_body_bytes")
    if request.content_length is not None and request.content_length > most:
        raise InputInvalid(
            f"body：内容太大了（最多 {most} 字节）",
            code="input.too_large",
            params={"field": "body", "max": most},
            field="body",
        )
    return read_object(request.get_data(cache=True) or b"{}", root="")


def _task_id(text: str) -> str:
    task_id = matter_detail.uuid_or_none(text)
    if task_id is None:
        abort(404)
    return task_id


@bp.get("/tasks/<task_id>/draft")
@login_required
def task_draft(task_id: str):
    task_id = _task_id(task_id)
    return _answer(
        lambda: jsonify({"draft": draft_json(drafts.load_task_draft(db.session(), current_user.username, task_id))})
    )


@bp.route("/tasks/<task_id>/draft", methods=["PUT", "POST"])
@login_required
def save_task_draft(task_id: str):
    task_id = _task_id(task_id)

    def run():
        body, user = _body(), current_user.username
        saved = db.write(lambda s: drafts.save_task_draft(s, user, task_id, body.get("data"), body.get("revision")))
        return jsonify({"draft": draft_json(saved)})

    return _answer(run)


@bp.delete("/tasks/<task_id>/draft")
@login_required
def discard_task_draft(task_id: str):
    task_id = _task_id(task_id)
    user = current_user.username
    return _answer(lambda: jsonify({"discarded": db.write(lambda s: drafts.discard_task_draft(s, user, task_id))}))


@bp.get("/start/<key>/draft")
@login_required
def start_draft(key: str):
    return _answer(
        lambda: jsonify({"draft": draft_json(drafts.load_start_draft(db.session(), current_user.username, key))})
    )


@bp.route("/start/<key>/draft", methods=["PUT", "POST"])
@login_required
def save_start_draft(key: str):
    def run():
        body, user = _body(), current_user.username
        saved = db.write(lambda s: drafts.save_start_draft(s, user, key, body.get("data"), body.get("revision")))
        return jsonify({"draft": draft_json(saved)})

    return _answer(run)


@bp.delete("/start/<key>/draft")
@login_required
def discard_start_draft(key: str):
    user = current_user.username
    return _answer(lambda: jsonify({"discarded": db.write(lambda s: drafts.discard_start_draft(s, user, key))}))


@bp.after_request
def redirect_as_json(response):
    """A form sent by the script: where the redirect leads, for the script to open (the flash kept)."""
    if (
        request.headers.get(SUBMIT_HEADER) == "fetch"
        and request.method == "POST"
        and response.status_code
        in (
            301,
            302,
            303,
        )
    ):
        location = response.headers.get("Location", "")
        answer = jsonify({"redirect": location})
        answer.headers["Vary"] = SUBMIT_HEADER
        return answer
    return response
