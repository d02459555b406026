"""Names of the things the workspace records: categories, statuses, history event kinds, positions.

The words are data (``engine/texts/*/workspace.yaml``, the categories' names ``catalog.yaml``); the kinds below
are the codes the record keeps.
"""

from __future__ import annotations

from engine.org.roles import ROLES
from engine.texts import data, text, texts

CATEGORY_NAMES = texts("catalog.categories")
CATEGORY_ORDER = tuple(CATEGORY_NAMES)
OTHER_CATEGORY = text("workspace.other_category")  # items of no known category

STATUS_NAMES = texts("workspace.statuses")

# History event kinds written by the workspace's approval operations (the engine's own kinds are in
# engine.history.events).
TASK_REJECTED = "task_rejected"
TASK_RETURNED = "task_returned"
TASK_WITHDRAWN = "task_withdrawn"
TASK_TRANSFERRED = "task_transferred"
TASK_REMINDED = "task_reminded"
TASK_PARKED = "task_parked"
MATTER_COPIED = "matter_copied"
APPROVER_ADDED = "approver_added"
APPROVER_DECIDED = "approver_decided"

EVENT_NAMES = texts("workspace.events")

POSITION_NAMES = texts("workspace.positions")


def role_name(code: str) -> str:
    role = ROLES.get(code)
    return role.name_zh if role else code


# The words that end a unit's name at each level and may begin a role's name at it.
LEVEL_WORDS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in data("workspace.level_words").items()}
UNIT_ENDINGS: tuple[str, ...] = tuple(data("workspace.unit_endings"))


def office(unit_name: str, role_code: str, level: str | None = None) -> str:
    """A role held in a unit, as one name: the unit's name, then the role's name without the level
    word the unit's name already ends in ("东溪镇" + "镇纪委" → "东溪镇纪委", "上塘村" + "村干部" →
    "上塘村干部", "东溪镇" + "乡镇民政办" → "东溪镇民政办")."""
    role = role_name(role_code)
    known = ROLES.get(role_code)
    words = LEVEL_WORDS.get(level or (known.level if known else ""), ())
    if unit_name.endswith(UNIT_ENDINGS):
        for word in words:
            if role.startswith(word) and len(role) > len(word):
                return unit_name + role[len(word) :]
    return unit_name + role
