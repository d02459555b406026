"""The powerlist web app: ``create_app`` builds one; blueprints per user group."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from engine.persistence.db import instance_path

    app = Flask(__name__, instance_path=str(instance_path()))
    if test_config:
        app.config.update(test_config)

    @app.get("/")
    def index() -> str:
        return "<!doctype html><meta charset=utf-8><title>powerlist</title><h1>村级小微权力清单 powerlist</h1>"

    return app
