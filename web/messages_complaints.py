# ruff: noqa: E501
"""English for the interface's Chinese text of one area; merged into :data:`web.messages.ENGLISH`."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    "反映谁的问题": "Whom is it about",
    "村干部（书记、主任、会计等）": "Village cadres (secretary, chair, bookkeeper and others)",
    "村务监督委员会": "The village supervisory committee",
    "其他人或事": "Someone or something else",
    "反映村干部的，村干部看不到；反映村务监督委员会的，直接交镇纪委办理。": "A report about the village cadres is hidden from them; one about the supervisory committee goes straight to the town discipline commission.",
    "请选择反映的是谁的问题": "Please choose whom the report is about",
}
