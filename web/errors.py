"""Every failure becomes a clear page or JSON answer with the right status; never a bare 500 for bad input.

Engine errors map to 400 (invalid input), 403 (not allowed), 404 (not found, or not visible) and
409 (the matter changed: a step already done, a conflicting change).

The villagers' pages (``/public/``) have error pages of their own, in their frame: plain Chinese,
links to the public board and the progress lookup, never to the staff login.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from engine.errors import (
    Conflict,
    DefinitionInvalid,
    FormInvalid,
    InvalidState,
    NotFound,
    PermissionDenied,
    PowerlistError,
)
from engine.messages import describe
from web.i18n import gettext as _
from web.i18n import locale_or_default

log = logging.getLogger(__name__)

HEADLINES = {
    400: "提交的内容有问题",
    401: "请先登录",
    403: "您没有权限做这件事",
    404: "找不到这个页面或事项",
    405: "不支持这种操作",
    409: "事项已经变化",
    413: "上传的文件太大了",
    429: "操作太频繁了",
    500: "系统出了点问题",
}


def status_of(exc: PowerlistError) -> int:
    from engine.persistence.db import DatabaseBusy

    if isinstance(exc, DatabaseBusy):
        return 503
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, InvalidState | Conflict):
        return 409
    return 400


def error_body(exc: PowerlistError) -> dict[str, Any]:
    """``{code, message, field}``: a stable code to branch on, the message in the reader's language,
    and the input at fault (forms list every field)."""
    body: dict[str, Any] = {
        "code": getattr(exc, "code", "error"),
        "message": describe(exc, locale_or_default()),
        "field": getattr(exc, "field", None),
    }
    if isinstance(exc, FormInvalid):
        body["message"] = _("表单有误，请按提示修改")
        body["fields"] = [{"field": e.field, "message": e.message} for e in exc.errors]
    if isinstance(exc, DefinitionInvalid):
        body["problems"] = [p.__dict__ for p in exc.problems]
    return body


PUBLIC_MESSAGES = {
    403: "这个页面不对外公开。",
    404: "没有找到您要的页面或事项。回执码、村的代码或链接可能输错了，请核对后再试。",
    500: "系统出了点问题，请稍后再试。",
}
PUBLIC_PREFIX = "/public/"


def is_public() -> bool:
    """Whether the request is for a villagers' page."""
    return request.path.startswith(PUBLIC_PREFIX) or request.path == PUBLIC_PREFIX.rstrip("/")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def respond(status: int, message: str | None, body: dict[str, Any] | None = None):
    if wants_json():
        payload = body or {"code": HEADLINES.get(status, "error"), "message": message or _(HEADLINES.get(status, ""))}
        return jsonify({"error": payload}), status
    if is_public():
        if status in PUBLIC_MESSAGES or status >= 500 or not message:
            message = _(PUBLIC_MESSAGES.get(status, PUBLIC_MESSAGES[500]))
        headline = _(HEADLINES.get(status, "出错了"))
        return render_template("errors/public.html", status=status, headline=headline, message=message), status
    return (
        render_template(
            "errors/error.html", status=status, headline=_(HEADLINES.get(status, "出错了")), message=message
        ),
        status,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(PowerlistError)
    def engine_error(exc: PowerlistError):
        status = status_of(exc)
        body = error_body(exc)
        response = respond(status, body["message"], body)
        if status == 503:  # the database stayed busy: nothing was written, the client may try again
            response = make_response(response)
            response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(_exc: CSRFError):
        return respond(400, _("页面已过期或来源不明，请刷新页面后再试"))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = exc.description if status in (400, 429) and exc.description else None
        return respond(status, message)

    @app.errorhandler(IntegrityError)
    def integrity_error(_exc: IntegrityError):
        return respond(409, _("别人刚刚也做了同样的修改，请刷新后再试"))

    @app.errorhandler(OperationalError)
    def database_error(exc: OperationalError):
        log.exception("database error", exc_info=exc)
        return respond(503 if "locked" in str(exc) else 500, _("数据库暂时忙，请稍后再试"))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error", exc_info=exc)
        return respond(500, None)
