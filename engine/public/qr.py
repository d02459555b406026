"""QR codes for door plates (户廉码): they open the village's public page."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

import segno

from engine.errors import PowerlistError

FORMATS = ("svg", "png")
SETTING = "POWERLIST_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://localhost:5000"
MAX_URL_CHARS = 200  # a QR code of error level M stays easy to scan up to about this length


class PublicUrlInvalid(PowerlistError):
    """The configured public address is not one villagers' phones can be sent to."""

    exit_code = 2
    default_code = "config.public_url"


def public_base_url(value: object, setting: str = SETTING) -> str:
    """The address villagers reach the web app at, checked: http or https, a host, nothing else.

    QR codes and every absolute public link start with it, so a request's Host header never
    decides where they point. The path (the app mounted under a prefix) is kept, without a
    trailing ``/``; user name and password, query and fragment are refused.
    """
    text = value.strip() if isinstance(value, str) else ""
    problem = _url_problem(text)
    if problem:
        shown = "" if "@" in text else f" (got {text[:80]!r})"
        raise PublicUrlInvalid(
            f"{setting} must be an http:// or https:// address like https://cun.example.gov.cn: {problem}{shown}",
            field=setting,
        )
    return text.rstrip("/")


def _url_problem(text: str) -> str | None:
    if not text:
        return "it is empty"
    if len(text) > MAX_URL_CHARS:
        return f"it is longer than {MAX_URL_CHARS} characters"
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in text):
        return "it contains spaces, control characters or backslashes"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        return f"it does not parse ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "the scheme is not http or https"
    if not parts.hostname:
        return "there is no host"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "it contains a user name or password"
    if parts.query or "?" in text:
        return "it has a query (?…)"
    if parts.fragment or "#" in text:
        return "it has a fragment (#…)"
    if port == 0:
        return "the port is 0"
    return None


def configured_base_url(environ: Mapping[str, str] | None = None) -> str:
    """``POWERLIST_PUBLIC_URL`` checked, or the default for a local demo."""
    environ = os.environ if environ is None else environ
    return public_base_url(environ.get(SETTING) or DEFAULT_PUBLIC_URL)


def village_path(code: str) -> str:
    return f"/public/villages/{quote(code, safe='')}"


def village_url(base_url: str, code: str) -> str:
    """The absolute address of a village's public page under the configured ``base_url``."""
    return public_base_url(base_url) + village_path(code)


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
