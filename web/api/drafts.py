"""Drafts over the API: an integration keeps what its user typed into a step's form and has not
submitted (:mod:`engine.workspace.drafts`); never part of the matter's record."""

from __future__ import annotations

from flask import jsonify

from engine.workspace import drafts
from web import db
from web.api.blueprint import bp
from web.api.views import _task_id, body, ok, user


def _view(draft):
    return ok({"draft": draft})


@bp.get("/tasks/<task_id>/draft")
def task_draft(task_id: str):
    return _view(drafts.load_task_draft(db.session(), user(), _task_id(task_id)))


@bp.route("/tasks/<task_id>/draft", methods=["PUT", "POST"])
def save_task_draft(task_id: str):
    task_id, data, name = _task_id(task_id), body(), user()
    return _view(db.write(lambda s: drafts.save_task_draft(s, name, task_id, data.get("data"), data.get("revision"))))


@bp.delete("/tasks/<task_id>/draft")
def discard_task_draft(task_id: str):
    task_id, name = _task_id(task_id), user()
    return jsonify({"discarded": db.write(lambda s: drafts.discard_task_draft(s, name, task_id))})
