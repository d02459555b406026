# ruff: noqa: E501
"""English for the interface's Chinese text of one area; merged into :data:`web.messages.ENGLISH`."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    "本页地址": "Address of this page",
}
