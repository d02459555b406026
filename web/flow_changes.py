"""What changed between two versions of a flow, worded for the administrator's pages and the API.

The engine names what changed by code (``engine.workspace.admin.step_diff``, ``staged_changes``);
this module gives each its label.
"""

from __future__ import annotations

from typing import Any

from engine.workspace.labels import CATEGORY_NAMES

STEP_FIELDS = {
    "name": "名称",
    "role": "岗位",
    "form": "表单",
    "form_content": "表单内容",
    "time_limit": "时限",
    "calendar": "日历",
    "legal_basis": "法律依据",
    "documentation": "办理说明",
}
ITEM_FIELDS = {"name": "名称", "category": "分类", "number": "编号"}
UNCATEGORISED = "未分类"


def step_changes(changes: dict[str, Any] | None) -> dict[str, Any] | None:
    """Steps added, removed and changed, each change naming its fields by label."""
    if changes is None:
        return None
    changed = [{**c, "fields": [STEP_FIELDS.get(f, f) for f in c["fields"]]} for c in changes["changed"]]
    return {**changes, "changed": changed}


def versions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A flow's versions, each with its changes from the one before worded."""
    return [{**row, "changes": step_changes(row.get("changes"))} for row in rows]


def staged(changes: dict[str, Any] | None) -> dict[str, Any] | None:
    """What an upload changes against the version in service: the item's name, category and number
    (categories by name), and its steps."""
    if changes is None:
        return None

    def shown(field: str, value: str) -> str:
        return CATEGORY_NAMES.get(value, UNCATEGORISED) if field == "category" else value

    item = [
        {
            "field": c["field"],
            "label": ITEM_FIELDS.get(c["field"], c["field"]),
            "old": shown(c["field"], c["old"]),
            "new": shown(c["field"], c["new"]),
        }
        for c in changes["item"]
    ]
    return {**changes, "item": item, "steps": step_changes(changes["steps"])}
