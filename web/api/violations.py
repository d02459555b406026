"""The supervisors' API: the worklist of violation warnings and complaints, one warning, its handling
actions, and search over the matters in scope. Thin wrappers around ``engine.supervision``."""

from __future__ import annotations

from typing import Any

from flask import request

from engine.inputs import InputInvalid
from engine.supervision import handling, search
from engine.supervision import worklist as engine_worklist
from web import db
from web.api.blueprint import bp
from web.api.views import body, ok, user
from web.supervise.worklist import FILTERS


@bp.get("/violations")
def violations():
    filters = engine_worklist.parse_filters({name: request.args.get(name) for name in FILTERS})
    return ok(engine_worklist.worklist(db.session(), user(), filters).as_dict())


@bp.get("/violations/<int:violation_id>")
def violation(violation_id: int):
    return ok(engine_worklist.view(db.session(), user(), violation_id).as_dict())


FIELDS = {"note": 4000, "owner_role": 64, "owner_user": 64, "deadline": 40}


def _field(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > FIELDS[name]:
        raise InputInvalid(
            f"{name}: a string of at most {FIELDS[name]} characters",
            code="input.invalid",
            params={"field": name},
            field=name,
        )
    return value


@bp.post("/violations/<int:violation_id>/<action>")
def violation_action(violation_id: int, action: str):
    """One handling action; the body names only the fields of the action (``note``; ``assign`` also
    ``owner_role``, ``owner_user``, ``deadline``)."""
    handling.check_action(action)
    data, name = body(), user()
    allowed = set(FIELDS) if action == "assign" else {"note"}
    for key in sorted(data):
        if key not in allowed:
            raise InputInvalid(
                f"{key}: not a field of '{action}'", code="input.invalid", params={"field": key}, field=key
            )
    options = {key: _field(data, key) for key in allowed}
    done = db.write(lambda session: handling.handle(session, violation_id, action, name, **options))
    return ok(done.as_dict())


@bp.get("/search")
def search_matters():
    return ok(search.search(db.session(), user(), request.args.get("q", "")).as_dict())
