"""Photos sent with a 码上举报: checked by their content, re-encoded, kept as the complaint's attachments.

A villager's photo may carry where it was taken (EXIF GPS), the phone's make and serial, the time,
and anything appended after the image data. Every photo is therefore decoded and encoded again from
its pixels alone: what is stored is a new file holding the picture and nothing else. The type is read
from the first bytes (JPEG, PNG or WebP), never from the name; a file that is not one of them, that
does not decode, or whose size in pixels could exhaust the server (a "decompression bomb") refuses
the whole report, naming the file. Nothing is written until every photo has passed (:func:`prepare`),
and the files are kept only with the report that starts the matter (:func:`keep`).

The photos are attachments of the complaint matter (:class:`engine.workspace.models.Attachment`):
only those who may read the complaint see them, never the public pages.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from engine import clock
from engine.texts import text
from engine.workspace import attachments
from engine.workspace.models import Attachment

MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024  # each, as sent
MAX_TOTAL_BYTES = 12 * 1024 * 1024  # all photos of one report, as sent
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; more is refused before it is decoded
LONGEST_SIDE = 2560  # what is kept: enough to read a receipt or see a crack
ACCEPTED = {"image/jpeg": ("JPEG", "MPO"), "image/png": ("PNG",), "image/webp": ("WEBP",)}  # MPO: some phones' JPEG
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
SLOT = "photos"
STEP = "start"  # the attachments belong to the report itself, the matter's start


class PhotoRefused(Exception):
    """A photo that cannot be taken: ``problem`` is ``count``, ``size``, ``total``, ``type``,
    ``broken`` or ``pixels``; ``filename`` names the file as the villager chose it."""

    def __init__(self, problem: str, filename: str = ""):
        super().__init__(f"{problem}: {filename}")
        self.problem = problem
        self.filename = filename


@dataclass(frozen=True)
class Photo:
    """A photo as it will be stored: re-encoded, with a name of our own making."""

    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _photo_name(number: int, content_type: str) -> str:
    return text("public.reports.photo_name", number=number, extension=EXTENSIONS[content_type])


def _clean(content: bytes, content_type: str, filename: str) -> bytes:
    """The picture of ``content`` encoded again from its pixels: no EXIF, GPS, comments, colour
    profile or trailing data; at most :data:`LONGEST_SIDE` pixels on its longest side."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as probe:
                if probe.format not in ACCEPTED[content_type]:
                    raise PhotoRefused("type", filename)
                width, height = probe.size
                if width < 1 or height < 1 or width * height > MAX_PIXELS:
                    raise PhotoRefused("pixels", filename)
                probe.verify()
            with Image.open(io.BytesIO(content)) as image:
                image.seek(0)  # an animated image keeps its first frame
                image.load()
                upright = ImageOps.exif_transpose(image)
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused("pixels", filename) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise PhotoRefused("broken", filename) from None
    keep_alpha = content_type != "image/jpeg" and upright.mode in ("RGBA", "LA", "PA", "P")
    mode = "RGBA" if keep_alpha else "RGB"
    upright = upright.convert(mode)
    upright.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    bare = Image.frombytes(mode, upright.size, upright.tobytes())  # pixels only: no info, no EXIF
    out = io.BytesIO()
    if content_type == "image/jpeg":
        bare.save(out, "JPEG", quality=85, optimize=True)
    elif content_type == "image/png":
        bare.save(out, "PNG", optimize=True)
    else:
        bare.save(out, "WEBP", quality=85)
    return out.getvalue()


def prepare(sent: list[tuple[str, bytes]]) -> list[Photo]:
    """Check and re-encode the photos of one report, ``(filename, content)`` each (empty file
    fields skipped); raise :class:`PhotoRefused` for the first that cannot be taken."""
    sent = [(attachments.safe_filename(name), content) for name, content in sent if content]
    if len(sent) > MAX_PHOTOS:
        raise PhotoRefused("count")
    if sum(len(content) for _, content in sent) > MAX_TOTAL_BYTES:
        raise PhotoRefused("total")
    photos = []
    for number, (name, content) in enumerate(sent, start=1):
        if len(content) > MAX_PHOTO_BYTES:
            raise PhotoRefused("size", name)
        content_type = attachments.sniff(content)
        if content_type not in ACCEPTED:
            raise PhotoRefused("type", name)
        cleaned = _clean(content, content_type, name)
        photos.append(Photo(_photo_name(number, content_type), content_type, cleaned))
    return photos


def _write(folder: Path, photo: Photo) -> None:
    path = attachments.blob_path(folder, photo.sha256)
    if path.exists() and path.stat().st_size == len(photo.content):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(photo.content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def keep(session: Session, folder: Path | None, photos: list[Photo], instance_id: int, uploaded_by: str) -> None:
    """Store the photos as attachments of the report's matter, in the caller's transaction.

    The files are named by their SHA-256 (the start event records the digests); a file written for
    a transaction that then fails is referred to by nothing."""
    folder = folder or attachments.default_folder()
    now = clock.now()
    for photo in photos:
        _write(folder, photo)
        session.add(
            Attachment(
                sha256=photo.sha256,
                filename=photo.filename,
                content_type=photo.content_type,
                size=len(photo.content),
                uploaded_by=uploaded_by,
                uploaded_at=now,
                instance_id=instance_id,
                step_id=STEP,
                slot=SLOT,
            )
        )
    session.flush()
