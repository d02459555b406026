"""Names of the things the workspace records: categories, statuses, history event kinds, positions,
roles and offices.

The words are data (``engine/texts/*/workspace.yaml``, the categories' names ``catalog.yaml``); the
codes they name are :class:`engine.persistence.enums.EventKind`, ``MatterStatus`` and the roles of
``engine.org.roles``. The engine's own wording (the record's exports, the timeline, refusals) reads
them here; the pages and the API add them to the engine's results in ``web.shaping``.
"""

from __future__ import annotations

from engine.org.roles import ROLES
from engine.texts import data, text, texts

CATEGORY_NAMES = texts("catalog.categories")
CATEGORY_ORDER = tuple(CATEGORY_NAMES)
OTHER_CATEGORY = text("workspace.other_category")  # items of no known category

STATUS_NAMES = texts("workspace.statuses")  # a matter's status, as the pages name it

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
