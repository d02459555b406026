# ruff: noqa: E501
"""English for the interface's Chinese text of one area; merged into :data:`web.messages.ENGLISH`."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    "发布到": "Published to",
    "这个事项还发布在您不管理的县，只有省级管理员（命令行）可以部署新版本、停用或恢复版本。": "This item is also published to counties you do not administer: only the province-level operator (command line) may deploy, retire or reinstate its versions.",
    "这个用户在别的县也有岗位，只能由省级管理员（命令行）管理。": "This user also holds a role in another county: only the province-level operator (command line) manages them.",
}
