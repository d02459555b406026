"""Submitted form data as the record words it: sums in yuan, yes and no, option titles, lists.

Shared by a matter's timeline and its summary; the words are data (``engine/texts/*/workspace.yaml``,
``values:``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from engine.runtime.forms import Field, form_spec
from engine.texts import text, texts


def yuan_amount(fen: Any) -> str:
    """A sum in fen as a number of yuan (``"1,234.56"``); anything else as it is."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        return str(fen)
    return f"{Decimal(fen) / 100:,.2f}"


def yuan(fen: Any) -> str:
    """A sum in fen as the record words it (``"1,234.56 元"``)."""
    return text("workspace.values.yuan", amount=yuan_amount(fen))


def field_text(field: Field, value: Any) -> str:
    """One field's stored value as words."""
    words = texts("workspace.values")
    if field.kind == "money":
        return yuan(value)
    if field.kind == "boolean":
        return words["yes"] if value is True else words["no"] if value is False else str(value)
    if field.kind in ("choice", "choices"):
        options = dict(field.options)
        items = value if isinstance(value, list) else [value]
        return words["separator"].join(options.get(str(v), str(v)) for v in items)
    if isinstance(value, list):
        return words["separator"].join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def display_values(schema: dict[str, Any] | None, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) pairs of submitted form data, in the form's order, then any field it does not declare."""
    spec = form_spec(schema)
    shown = [(f.title, field_text(f, data[f.name])) for f in spec.fields if f.name in data]
    known = {f.name for f in spec.fields}
    for name, value in data.items():
        if name not in known and name != "attachments":
            shown.append((name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)))
    return shown
