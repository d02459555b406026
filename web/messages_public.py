# ruff: noqa: E501
"""English for the interface's Chinese text of one area; merged into :data:`web.messages.ENGLISH`."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    "本页地址": "Address of this page",
    "补贴去哪了": "Where the subsidies went",
    "各项补贴发给了谁，查我家的补贴": "Who received each subsidy; look up your household's",
    "三务公开": "Party, village and finance disclosures",
    "党务、村务、财务按月按季公开": "Party, village and finance affairs, disclosed monthly and quarterly",
    "决议和结果公开": "Decisions and results",
    "村里大事怎么定的，办得怎么样": "How the village decided its major matters, and how they turned out",
}
