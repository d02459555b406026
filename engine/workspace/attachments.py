"""Attachments: photos of minutes, sign-in sheets and ballots, stored once per content under the
instance folder and named by their SHA-256.

The type is read from the content, never from the name: a file is accepted only when its first
bytes are those of a format the step accepts.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, policy
from engine.errors import FieldError, FormInvalid, NotFound, PowerlistError
from engine.persistence.db import instance_path
from engine.persistence.ids import valid_id
from engine.texts import text, texts
from engine.workspace.access import visible_instance
from engine.workspace.models import Attachment

MAX_ATTACHMENT_BYTES = 15 * 1024 * 1024
MAX_FILES_PER_SLOT = 20

WORD = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXCEL = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
    WORD: "docx",
    EXCEL: "xlsx",
}
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})


class UploadRefused(PowerlistError):
    """The file is not acceptable (type, size); the message says why."""


def default_folder() -> Path:
    return instance_path() / "attachments"


def sniff(content: bytes) -> str | None:
    """The content type the bytes really are, or None when it is none of the accepted formats."""
    head = content[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif", b"hevc"):
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return _office_type(content)
    return None


def _office_type(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist()[:2000])
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "word/document.xml" in names:
        return WORD
    if "xl/workbook.xml" in names:
        return EXCEL
    return None


def accepts(accept: list[str], content_type: str) -> bool:
    if not accept:
        return content_type in INLINE_TYPES
    for pattern in accept:
        if pattern == content_type or pattern == "*/*":
            return True
        if pattern.endswith("/*") and content_type.startswith(pattern[:-1]):
            return True
    return False


def describe_accept(accept: list[str]) -> str:
    """The kinds of file a slot accepts, as words (``workspace.yaml``, ``file_kinds:``)."""
    words = texts("workspace.file_kinds")
    names = {"image/*": words["image"], "application/pdf": words["pdf"], WORD: words["word"], EXCEL: words["excel"]}
    return words["separator"].join(names.get(a, a) for a in accept) or words["default"]


def safe_filename(name: str | None) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    base = re.sub(r"\s+", " ", base).strip(" .")
    return base[:200] or text("workspace.file_kinds.unnamed")


def blob_path(folder: Path, sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise NotFound("no such attachment")
    return folder / sha256[:2] / sha256[2:4] / sha256


def store_upload(
    session: Session, folder: Path | None, content: bytes, filename: str | None, uploaded_by: str
) -> Attachment:
    """Keep the file (once per content) and record who uploaded it; it is claimed by a step later.

    Only people who act in matters upload: readers and administrators change nothing.
    """
    policy.require(session, uploaded_by, "file.upload")
    if not content:
        raise UploadRefused(code="attachment.empty", params={"file": safe_filename(filename)})
    if len(content) > MAX_ATTACHMENT_BYTES:
        limit = MAX_ATTACHMENT_BYTES // (1024 * 1024)
        raise UploadRefused(code="attachment.too_large", params={"file": safe_filename(filename), "limit": limit})
    content_type = sniff(content)
    if content_type is None:
        raise UploadRefused(code="attachment.kind", params={"file": safe_filename(filename)})
    digest = hashlib.sha256(content).hexdigest()
    _write_blob(folder or default_folder(), digest, content)
    row = Attachment(
        sha256=digest,
        filename=safe_filename(filename),
        content_type=content_type,
        size=len(content),
        uploaded_by=uploaded_by,
        uploaded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def _write_blob(folder: Path, digest: str, content: bytes) -> None:
    path = blob_path(folder, digest)
    if path.exists() and path.stat().st_size == len(content):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class Resolved:
    rows: list[Attachment]
    entries: list[dict[str, Any]]  # what goes into the step's form data


def resolve_for_step(
    session: Session,
    step_name: str,
    slots: list[dict[str, Any]],
    chosen: dict[str, list[int]],
    actor: str,
    instance_id: int,
    step_id: str,
) -> Resolved:
    """Check the uploads chosen for each attachment slot of a step; raise naming every problem."""
    by_slot = {s["name"]: s for s in slots}
    errors: list[FieldError] = []
    rows: list[Attachment] = []
    entries: list[dict[str, Any]] = []
    for slot_name, ids in chosen.items():
        slot = by_slot.get(slot_name)
        if slot is None:
            errors.append(FieldError.coded(slot_name, "attachment.no_slot", slot=slot_name))
            continue
        if len(ids) > MAX_FILES_PER_SLOT:
            errors.append(
                FieldError.coded(slot_name, "attachment.too_many", slot=slot["title"], max=MAX_FILES_PER_SLOT)
            )
            continue
        for attachment_id in dict.fromkeys(ids):
            row = session.get(Attachment, attachment_id) if valid_id(attachment_id) else None
            # One's own uploads not yet used, or used by an earlier submission of the same step of
            # this matter (one declined by an added approver, returned or withdrawn).
            usable = (
                row is not None
                and row.uploaded_by == actor
                and (row.instance_id is None or (row.instance_id == instance_id and row.step_id == step_id))
            )
            if not usable:
                errors.append(FieldError.coded(slot_name, "attachment.gone", slot=slot["title"]))
                continue
            if not accepts(slot["accept"], row.content_type):
                errors.append(
                    FieldError.coded(
                        slot_name,
                        "attachment.not_accepted",
                        slot=slot["title"],
                        accepted=describe_accept(slot["accept"]),
                        file=row.filename,
                    )
                )
                continue
            rows.append(row)
            entries.append(
                {
                    "name": slot_name,
                    "sha256": row.sha256,
                    "filename": row.filename,
                    "size": row.size,
                    "type": row.content_type,
                }
            )
    for slot in slots:
        if slot["required"] and not any(e["name"] == slot["name"] for e in entries):
            if not any(e.field == slot["name"] for e in errors):
                errors.append(FieldError.coded(slot["name"], "attachment.required", slot=slot["title"]))
    if errors:
        raise FormInvalid(step_name, errors)
    return Resolved(rows, entries)


def claim(rows: list[Attachment], entries: list[dict[str, Any]], instance_id: int, task_id: str, step_id: str) -> None:
    for row, entry in zip(rows, entries, strict=True):
        row.instance_id = instance_id
        row.task_id = task_id
        row.step_id = step_id
        row.slot = entry["name"]


def own_uploads(
    session: Session, username: str, ids: list[int], instance_id: int | None = None, step_id: str | None = None
) -> list[Attachment]:
    """The given uploads of ``username`` a step may still use (to show them again on its form)."""
    if not ids:
        return []
    rows = session.scalars(select(Attachment).where(Attachment.id.in_(ids[:200]), Attachment.uploaded_by == username))
    return [r for r in rows if r.instance_id is None or (r.instance_id == instance_id and r.step_id == step_id)]


def of_instance(session: Session, instance_id: int) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.instance_id == instance_id)
            .order_by(Attachment.uploaded_at, Attachment.id)
        )
    )


def for_viewing(session: Session, username: str, instance_id: int, sha256: str) -> Attachment:
    """An attachment of a matter the user may see; NotFound for everything else."""
    visible_instance(session, username, instance_id)
    row = session.scalar(
        select(Attachment)
        .where(Attachment.instance_id == instance_id, Attachment.sha256 == sha256)
        .order_by(Attachment.id)
        .limit(1)
    )
    if row is None:
        raise NotFound(code="attachment.not_found")
    return row


def upload_for_viewing(session: Session, username: str, attachment_id: int) -> Attachment:
    """One's own upload (for instance before the step using it is submitted)."""
    row = session.get(Attachment, attachment_id)
    if row is None or row.uploaded_by != username:
        raise NotFound(code="attachment.not_found")
    return row


def read_blob(folder: Path | None, row: Attachment) -> Path:
    path = blob_path(folder or default_folder(), row.sha256)
    if not path.is_file():
        raise NotFound(code="attachment.file_missing")
    return path


def verify_blob(folder: Path | None, row: Attachment) -> bool:
    """True when the stored file still has the hash the history recorded."""
    path = blob_path(folder or default_folder(), row.sha256)
    if not path.is_file():
        return False
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == row.sha256
