"""Chinese by default, English on request: a small catalogue keyed by the Chinese text.

The choice is kept in the session and in a long-lived cookie, so it survives signing out.
Names that come from flows (steps, fields, legal basis) stay as their authors wrote them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, g, redirect, request, session, url_for

from web.messages import ENGLISH

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT = "zh"
COOKIE = "powerlist_lang"

bp = Blueprint("i18n", __name__)


def locale() -> str:
    chosen = g.get("locale")
    if chosen:
        return chosen
    chosen = session.get("lang") or request.cookies.get(COOKIE)
    if not chosen and request.path.startswith("/api/"):
        chosen = request.accept_languages.best_match(LANGUAGES)  # API clients say it in the header
    chosen = chosen or DEFAULT
    if chosen not in LANGUAGES:
        chosen = DEFAULT
    g.locale = chosen
    return chosen


def locale_or_default() -> str:
    """The reader's language, or the default outside a request."""
    try:
        return locale()
    except RuntimeError:
        return DEFAULT


def gettext(text: str, **values: object) -> str:
    try:
        english = locale() == "en"
    except RuntimeError:  # outside a request
        english = False
    translated = ENGLISH.get(text, text) if english else text
    return translated.format(**values) if values else translated


def safe_next(target: str | None, fallback: str) -> str:
    """Only paths on this site: never an absolute URL or a scheme-relative one."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.get("/lang/<code>")
def choose(code: str):
    if code not in LANGUAGES:
        code = DEFAULT
    session["lang"] = code
    response = redirect(safe_next(request.args.get("next"), url_for("auth.home")))
    response.set_cookie(COOKIE, code, max_age=365 * 86400, httponly=True, samesite="Lax")
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(_=gettext, LANGUAGES=LANGUAGES, locale=locale)
