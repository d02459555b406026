"""Chinese names of the things the workspace shows: categories, statuses, history event kinds."""

from __future__ import annotations

from engine.org.roles import ROLES

CATEGORY_NAMES = {
    "small_decision": "小决策",
    "small_funds": "小资金·资产·资源",
    "small_project": "小项目",
    "small_duty": "小职责",
    "small_organization": "小组织建设",
    "one_visit_service": "最多跑一次",
}
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
