"""The wording of the error codes of the power list's items and the published decisions and results,
code -> (Chinese, English), merged into :data:`engine.messages.CATALOGUE`."""

from __future__ import annotations

CATALOGUE: dict[str, tuple[str, str]] = {
    "item.not_found": (
        "小微权力清单上没有这个事项（可能已经停用或还没有向村民公示）",
        "There is no such item on the power list (it may be retired or not yet shown to villagers)",
    ),
    "published.not_found": (
        "没有找到这条公开的决议或结果，请从本村的“决议和结果公开”页面进入",
        "No such published decision or result; open it from the village's page of published decisions",
    ),
}
