"""Settings: defaults, then the environment, then the test configuration."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

MAX_REQUEST_BYTES = 64 * 1024 * 1024
# "Keep me signed in" lasts this long at most; signing out ends it sooner, on every device.
REMEMBER_FOR = timedelta(days=14)


def _secret_key(instance: Path) -> str:
    """POWERLIST_SECRET_KEY, or a key generated once into the instance folder (kept private)."""
    from_env = os.environ.get("POWERLIST_SECRET_KEY")
    if from_env:
        return from_env
    path = instance / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    from engine.persistence.db import database_url

    secure = os.environ.get("POWERLIST_SECURE_COOKIES", "") in ("1", "true", "yes")
    app.config.from_mapping(
        DATABASE_URL=database_url(),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="powerlist_session",
        REMEMBER_COOKIE_NAME="powerlist_remember",
        REMEMBER_COOKIE_DURATION=REMEMBER_FOR,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=secure,
        ATTACHMENTS_FOLDER=None,
        TRUST_PROXY=os.environ.get("POWERLIST_TRUST_PROXY", "") in ("1", "true", "yes"),
    )
    if test_config:
        app.config.update(test_config)
    from engine.public.qr import DEFAULT_PUBLIC_URL, SETTING, public_base_url

    # QR codes and absolute public links use this address, never the request's Host header.
    public_url = app.config.get("PUBLIC_URL") or os.environ.get(SETTING) or DEFAULT_PUBLIC_URL
    app.config["PUBLIC_URL"] = public_base_url(public_url)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))
    if not app.config.get("ATTACHMENTS_FOLDER"):
        app.config["ATTACHMENTS_FOLDER"] = str(Path(app.instance_path) / "attachments")
    if app.config["TRUST_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
