"""QR codes for door plates (户廉码): they open the village's public page."""

from __future__ import annotations

import io
from pathlib import Path

import segno

FORMATS = ("svg", "png")


def village_path(code: str) -> str:
    return f"/public/villages/{code}"


def village_url(base_url: str, code: str) -> str:
    return base_url.rstrip("/") + village_path(code)


def make(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def svg(url: str, title: str | None = None) -> bytes:
    """A standalone SVG of the code with its quiet zone of 4 modules."""
    out = io.BytesIO()
    make(url).save(out, kind="svg", scale=8, border=4, title=title, xmldecl=True)
    return out.getvalue()


def write(url: str, path: str | Path) -> Path:
    """Save the code as FILE.svg or FILE.png, large enough to print."""
    target = Path(path)
    kind = target.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise ValueError(f"the file must end in {', '.join('.' + f for f in FORMATS)}")
    make(url).save(str(target), kind=kind, scale=10 if kind == "png" else 8, border=4)
    return target
