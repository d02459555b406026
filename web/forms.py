"""An HTML form post as form data, and form data as a page shows it (yuan, 是/否, option titles).

The engine checks the data (:mod:`engine.runtime.forms`); this module only reads what a browser
sent and words what the pages show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.errors import FieldError
from engine.runtime.forms import FormSpec, yuan_to_fen

MAX_TEXT = 20000
MAX_LINES = 200


def fen_to_yuan(value: Any) -> str:
    """Fen as yuan for display: ``1234567`` → ``"12,345.67"``; anything else as it is."""
    if not isinstance(value, int) or isinstance(value, bool):
        return str(value)
    sign = "-" if value < 0 else ""
    yuan, fen = divmod(abs(value), 100)
    return f"{sign}{yuan:,}.{fen:02d}"


def parse_form(spec: FormSpec, form: Mapping[str, list[str]]) -> tuple[dict[str, Any], list[FieldError]]:
    """Values of the fields from submitted text (``form`` maps names to their submitted strings).

    Empty answers are left out, so "required" is reported by the schema with the field's title.
    """
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    for f in spec.fields:
        values = [v for v in form.get(f.name, []) if isinstance(v, str)]
        text = values[0].strip() if values else ""
        if len(text) > MAX_TEXT:
            errors.append(FieldError(f.name, f"「{f.title}」太长了"))
            continue
        try:
            if f.kind == "choices":
                chosen = [v for v in values if v]
                if chosen:
                    data[f.name] = chosen
            elif f.kind == "lines":
                lines = [line.strip() for line in text.splitlines() if line.strip()]
                if len(lines) > MAX_LINES:
                    raise ValueError(f"最多 {MAX_LINES} 行")
                if lines:
                    data[f.name] = lines
            elif not text and f.kind == "reference":
                data[f.name] = ""  # "cite nothing" is a choice of its own; the form's checks judge it
            elif not text:
                continue
            elif f.kind == "integer":
                if not re.fullmatch(r"-?\d{1,15}", text):
                    raise ValueError("请填写整数")
                data[f.name] = int(text)
            elif f.kind == "number":
                number = float(Decimal(text.replace(",", "")))
                if number != number or abs(number) > 1e15:
                    raise ValueError("请填写数字")
                data[f.name] = number
            elif f.kind == "money":
                data[f.name] = yuan_to_fen(text)
            elif f.kind == "boolean":
                if text not in ("true", "false"):
                    raise ValueError("请选择“是”或“否”")
                data[f.name] = text == "true"
            elif f.kind == "json":
                data[f.name] = json.loads(text)
            else:
                data[f.name] = text
        except (ValueError, InvalidOperation, json.JSONDecodeError) as exc:
            message = str(exc) if isinstance(exc, ValueError) and _is_chinese(str(exc)) else "格式不对"
            errors.append(FieldError(f.name, f"「{f.title}」{message}"))
    # Fields shown only under a condition count only when it holds.
    for f in spec.fields:
        if f.depends_on and f.name in data:
            name, value = f.depends_on
            if data.get(name) != value:
                del data[f.name]
    return data, errors


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def form_values(spec: FormSpec, data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored data back into what the form inputs show (yuan for money, one name per line…)."""
    values: dict[str, Any] = {}
    for f in spec.fields:
        if f.name not in data:
            continue
        value = data[f.name]
        if f.kind == "money":
            values[f.name] = fen_to_yuan(value).replace(",", "")
        elif f.kind == "boolean":
            values[f.name] = "true" if value is True else "false" if value is False else ""
        elif f.kind == "lines" and isinstance(value, list):
            values[f.name] = "\n".join(str(v) for v in value)
        elif f.kind == "choices" and isinstance(value, list):
            values[f.name] = [str(v) for v in value]
        elif f.kind == "json":
            values[f.name] = json.dumps(value, ensure_ascii=False)
        else:
            values[f.name] = str(value)
    return values
