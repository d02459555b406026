"""What the cadre pages and the API share: storing uploads and running a submission once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from engine.errors import Conflict, FieldError, InvalidState
from engine.workspace import attachments, idempotency
from engine.workspace.operations import Outcome
from web import db


def attachments_folder() -> Path:
    return Path(current_app.config["ATTACHMENTS_FOLDER"])


def store_files(files: list[FileStorage], username: str, field: str) -> tuple[list[int], list[FieldError]]:
    """Store each uploaded file in its own committed transaction, so a refused form keeps them."""
    ids: list[int] = []
    errors: list[FieldError] = []
    for upload in files:
        if upload is None or not upload.filename:
            continue
        content = upload.stream.read(attachments.MAX_ATTACHMENT_BYTES + 1)
        try:
            with db.writing() as session:
                row = attachments.store_upload(session, attachments_folder(), content, upload.filename, username)
                ids.append(row.id)
        except attachments.UploadRefused as exc:
            errors.append(FieldError(field, str(exc)))
    return ids, errors


def run_once(username: str, key: str | None, operation: Callable[[Session], Outcome]) -> Outcome:
    """Run a submission once, its whole transaction tried again while the database is busy.

    When it fails because the same submission got there first — a retry that lost the race with
    the first, or two at once with one key (:class:`~engine.workspace.idempotency.KeyTaken`) —
    answer with the first one's outcome.
    """
    try:
        return db.write(operation)
    except (InvalidState, Conflict):
        earlier = idempotency.lookup(db.session(), username, key) if key else None
        if earlier is None:
            raise
        return Outcome.repeat_of(earlier)
