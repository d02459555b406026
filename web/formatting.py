"""Template filters: local time (UTC+8), due times, money in yuan, file sizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from flask import Flask

from engine import clock
from web.forms import fen_to_yuan
from web.i18n import gettext as _

CHINA = timezone(timedelta(hours=8))


def localtime(value: datetime | str | None, with_time: bool = True) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(CHINA)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def due_text(due: datetime | None) -> str:
    """'还剩 3 天' / '已超期 5 小时'."""
    if due is None:
        return _("不限时")
    delta = due - clock.now()
    late = delta.total_seconds() < 0
    seconds = abs(delta.total_seconds())
    if seconds >= 86400:
        amount = _("{n} 天", n=int(seconds // 86400))
    elif seconds >= 3600:
        amount = _("{n} 小时", n=int(seconds // 3600))
    else:
        amount = _("{n} 分钟", n=max(int(seconds // 60), 1))
    return _("已超期 {amount}", amount=amount) if late else _("还剩 {amount}", amount=amount)


def money(fen: Any) -> str:
    return f"{fen_to_yuan(fen)} 元" if isinstance(fen, int) else ""


def filesize(size: Any) -> str:
    if not isinstance(size, int):
        return ""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def duration(text: str | None) -> str:
    """ISO 8601 durations as Chinese: P10D -> 10 天, PT48H -> 48 小时."""
    if not text:
        return _("不限时")
    from engine.expressions import duration_parts

    try:
        parts = duration_parts(text)
    except Exception:
        return text
    shown = []
    for unit, value in parts.items():
        if not value:
            continue
        n = int(value) if float(value).is_integer() else value
        shown.append(_UNITS[unit](n) if unit in _UNITS else f"{n} {unit}")
    return " ".join(shown) or text


_UNITS = {
    "years": lambda n: _("{n} 年", n=n),
    "months": lambda n: _("{n} 个月", n=n),
    "weeks": lambda n: _("{n} 周", n=n),
    "days": lambda n: _("{n} 天", n=n),
    "hours": lambda n: _("{n} 小时", n=n),
    "minutes": lambda n: _("{n} 分钟", n=n),
}


def init_app(app: Flask) -> None:
    app.add_template_filter(localtime)
    app.add_template_filter(due_text)
    app.add_template_filter(money)
    app.add_template_filter(filesize)
    app.add_template_filter(duration)
