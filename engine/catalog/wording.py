"""Plain Chinese for printed charts: time limits, roles, and text wrapped for narrow boxes."""

from __future__ import annotations

from engine.definitions.descriptions import StepInfo
from engine.expressions import ExpressionError, duration_parts
from engine.org.roles import ROLES
from engine.texts import data, texts

# A line never starts with these; a short label breaks after those (engine/texts/zh/catalog.yaml).
CLOSING_PUNCTUATION = data("catalog.closing_punctuation")
BREAK_AFTER = data("catalog.break_after")


def time_limit_text(step: StepInfo) -> str | None:
    """``P10D`` → ``10天``; with the working calendar ``10个工作日``; ``PT48H`` → ``48小时``."""
    if not step.time_limit:
        return None
    try:
        parts = duration_parts(step.time_limit)
    except ExpressionError:
        return step.time_limit
    labels = texts("catalog.time_units")
    units = (
        ("weeks", "weeks"),
        ("days", "working_days" if step.calendar == "working" else "days"),
        ("hours", "hours"),
        ("minutes", "minutes"),
        ("seconds", "seconds"),
    )
    text = "".join(labels[label].format(n=_number(parts[unit])) for unit, label in units if parts.get(unit))
    return text or step.time_limit


def role_text(role: str) -> str:
    found = ROLES.get(role)
    return found.name_zh if found else role


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most about ``width`` characters; a line never starts with closing punctuation."""
    lines: list[str] = []
    current = ""
    for char in text.strip():
        if len(current) >= width and char not in CLOSING_PUNCTUATION:
            lines.append(current)
            current = ""
        current += char
    if current:
        lines.append(current)
    return lines


def balanced(text: str, width: int) -> list[str]:
    """Short text in lines of even length, about ``width`` characters at most; two lines break
    after punctuation where that keeps them nearly even."""
    text = text.strip()
    if len(text) <= width:
        return [text]
    count = -(-len(text) // width)
    if count == 2:
        limit = min(width, -(-len(text) // 2)) + 2
        cuts = [
            i + 1 for i, char in enumerate(text[:-1]) if char in BREAK_AFTER and max(i + 1, len(text) - i - 1) <= limit
        ]
        if cuts:
            cut = min(cuts, key=lambda i: abs(len(text) - 2 * i))
            return [text[:cut], text[cut:]]
    return wrap(text, -(-len(text) // count))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
