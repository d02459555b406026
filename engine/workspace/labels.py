"""Chinese names of the things the workspace shows: categories, statuses, history event kinds."""

from __future__ import annotations

from engine.org.roles import ROLES
from engine.texts import texts

CATEGORY_NAMES = texts("catalog.categories")
CATEGORY_ORDER = tuple(CATEGORY_NAMES)

STATUS_NAMES = {"running": "办理中", "completed": "已办结", "cancelled": "已终止"}

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

EVENT_NAMES = {
    "instance_started": "发起事项",
    "task_completed": "办理",
    "task_forced": "强制推进",
    "gateway_taken": "流程判断",
    "timer_fired": "时限到达",
    "instance_ended": "办结",
    "instance_cancelled": "事项终止",
    "decision_registered": "决议登记",
    "decision_closed": "决议关闭",
    "instance_migrated": "迁移到新版本",  # engine.workspace.migration.INSTANCE_MIGRATED
    "state_sealed": "记录当前状态摘要",  # engine.history.seal
    TASK_REJECTED: "驳回",
    TASK_RETURNED: "退回",
    TASK_WITHDRAWN: "撤回",
    TASK_TRANSFERRED: "转办",
    TASK_REMINDED: "催办",
    TASK_PARKED: "提交，待加签人审批",
    MATTER_COPIED: "抄送",
    APPROVER_ADDED: "加签",
    APPROVER_DECIDED: "加签审批",
}

POSITION_NAMES = {"before": "前加签（先由加签人审批）", "after": "后加签（提交后由加签人审批）"}


def role_name(code: str) -> str:
    role = ROLES.get(code)
    return role.name_zh if role else code


# The words that end a unit's name at each level and may begin a role's name at it: a town's role
# "镇纪委" held in "东溪镇" reads "东溪镇纪委", never "东溪镇镇纪委".
LEVEL_WORDS = {"county": ("县",), "town": ("乡镇", "镇", "乡"), "village": ("村",)}


def office(unit_name: str, role_code: str, level: str | None = None) -> str:
    """A role held in a unit, as one name: the unit's name, then the role's name without the level
    word the unit's name already ends in ("东溪镇" + "镇纪委" → "东溪镇纪委", "上塘村" + "村干部" →
    "上塘村干部", "东溪镇" + "乡镇民政办" → "东溪镇民政办")."""
    role = role_name(role_code)
    known = ROLES.get(role_code)
    words = LEVEL_WORDS.get(level or (known.level if known else ""), ())
    if any(unit_name.endswith(w) for w in ("乡", "镇", "县", "村")):
        for word in words:
            if role.startswith(word) and len(role) > len(word):
                return unit_name + role[len(word) :]
    return unit_name + role
