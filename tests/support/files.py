"""Sample files for the attachment slots a step requires (会议记录, 签到表…), uploaded as its doer."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import api
from engine.persistence.models import Matter, OpenTask
from engine.runtime import forms
from engine.runtime.loaded import loaded
from engine.workspace import attachments

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def sample_for(accept: list[str]) -> tuple[bytes, str]:
    """A tiny file of a type the slot accepts."""
    if not accept or attachments.accepts(accept, "application/pdf"):
        return PDF, "sample.pdf"
    return PNG, "sample.png"


def required_files(
    session: Session, task_id: str, actor: str, folder: Any = None, every_slot: bool = False
) -> dict[str, list[int]]:
    """Upload one sample file for every required attachment slot of the open task (with
    ``every_slot``, for the optional ones too: a check may require one under a condition)."""
    row = session.get(OpenTask, task_id)
    if row is None:
        return {}
    definition = loaded(session.get(Matter, row.instance_id).definition)
    schema, _text = definition.form(definition.step(row.step_id))
    chosen: dict[str, list[int]] = {}
    for slot in forms.form_spec(schema).attachments:
        if slot["required"] or every_slot:
            content, name = sample_for(slot["accept"])
            chosen[slot["name"]] = [attachments.store_upload(session, folder, content, name, actor).id]
    return chosen


def complete(
    session: Session,
    task_id: str,
    actor: str,
    data: Any,
    waive_reason: str | None = None,
    every_slot: bool = False,
    **kwargs: Any,
):
    """Complete the task with ``data`` and a sample file in each required attachment slot."""
    files = required_files(session, task_id, actor, every_slot=every_slot)
    return api.complete(session, task_id, actor, data, files, waive_reason, **kwargs)
