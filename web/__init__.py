"""The powerlist web app: ``create_app`` builds one; one blueprint per user group (see ``web.blueprints``)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from engine import bootstrap
from web import config, db, errors, formatting, i18n, ids, security
from web.blueprints import BLUEPRINTS


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from engine.persistence.db import instance_path

    bootstrap()
    app = Flask(__name__, instance_path=str(instance_path()))
    app.url_map.converters.update(ids.CONVERTERS)
    config.load(app, test_config)
    db.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    errors.init_app(app)
    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
        if getattr(module, "csrf_exempt", False):
            security.csrf.exempt(module.bp)
    return app
