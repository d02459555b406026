"""Menu entries; each blueprint adds its own, so a new area appears without editing the layout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MenuItem:
    label: str
    endpoint: str
    visible: Callable[[Any], bool]
    badge: str | None = None  # key of the counts shown on the menu
    order: int = 50


ITEMS: list[MenuItem] = []


def add(label: str, endpoint: str, visible: Callable[[Any], bool], badge: str | None = None, order: int = 50) -> None:
    if not any(item.endpoint == endpoint for item in ITEMS):
        ITEMS.append(MenuItem(label, endpoint, visible, badge, order))
        ITEMS.sort(key=lambda item: item.order)


def for_user(user: Any) -> list[MenuItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [item for item in ITEMS if item.visible(user)]
