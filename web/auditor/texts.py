"""Chinese for what the engine reports in English or as codes: rejected log rows, unreadable logs,
broken chains and anchors (whatever is not recognised is shown as the engine wrote it), the statuses
of matters, the kinds of recorded events and of deviations."""

from __future__ import annotations

from engine.audit.conformance import kind_names
from web.i18n import gettext as _
from web.shaping import event_name as event_name
from web.shaping import status_name as status_name


def rejected_reason(reason: str) -> str:
    """Why a row or event of an imported log was not used."""
    if reason == "missing activity":
        return _("缺少活动名称")
    if reason == "missing time":
        return _("缺少时间")
    if reason in ("bad time stamp", "not a time"):
        return _("时间格式不对")
    if reason == "missing case id":
        return _("缺少事项编号")
    if reason.startswith("unknown activity"):
        return _("不认识的活动：既不是步骤编号或名称，也不在活动对照表里")
    if reason.startswith("only ") and "columns" in reason:
        return _("这一行的列数不够")
    if reason.startswith("longer than"):
        return _("内容太长")
    if reason.startswith("not readable as CSV"):
        return _("不是有效的 CSV 行")
    if reason == "event outside a trace":
        return _("事件不在任何案例（trace）里")
    if reason.startswith("trace #") and "no case id" in reason:
        return _("案例（trace）没有编号（concept:name）")
    return reason


def unreadable(error: str | None) -> str:
    """One Chinese line for a log that could not be read as a whole."""
    text = error or ""
    if text == "interrupted":
        return _("检查被中断了（服务重新启动过），请重新上传")
    if "is empty" in text:
        return _("文件是空的")
    if "larger than the limit" in text:
        return _("文件超过了大小限制")
    if "DOCTYPE" in text:
        return _("XES 文件不能包含 DOCTYPE 或实体声明")
    if "not readable as XES" in text:
        return _("这不是有效的 XES 文件")
    if "cannot tell which column" in text:
        return _("认不出哪一列是事项编号、活动或时间，请在“列名”中指定")
    if text.startswith("no column"):
        return _("找不到您指定的列，请核对列名")
    if "not valid" in text and "text" in text:
        return _("文件的文字编码认不出来，请用 UTF-8 或 GB18030 保存")
    if "more than" in text:
        return _("日志里的事件太多了")
    if "header row" in text:
        return _("第一行不是有效的表头")
    return _("无法读取这个文件")


def chain_problem(code: str) -> str:
    return {
        "altered": _("这条记录被改动过：哈希对不上"),
        "reordered": _("记录被删除或调换了顺序"),
        "truncated": _("记录的条数与事项登记的不一致：有记录被删除，或链头被改动"),
        "orphan": _("有记录属于一个并不存在的事项"),
        "missing": _("这个事项的记录全部不见了"),
        "state": _("事项的当前状态（流程数据、办理状态、待办的岗位或办理人）被直接改动过，与最后一条记录不符"),
        "open_tasks": _("待办与事项保存的流程状态对不上：有待办被添加、删除或改了岗位"),
    }.get(code, _("记录链有问题"))


def anchor_problem(code: str | None) -> str:
    return {
        "unknown": _("找不到这个摘要：摘要输错了，或者存证记录被删改"),
        "damaged": _("存证记录已损坏"),
        "table": _("存证表被改动过：记录不再得出这个摘要"),
        "deleted": _("存证覆盖的一个事项被删除了"),
        "altered": _("存证覆盖的一条记录被改动过"),
        "missing": _("存证覆盖的记录有缺失"),
        "rewritten": _("存证覆盖的记录被重写了"),
        "violation_deleted": _("存证覆盖的一条违规预警被删除了"),
        "violation": _("存证覆盖的一条违规预警的记录被删改"),
    }.get(code or "", _("与存证不符"))


def kind_name(kind: str) -> str:
    """A kind of deviation as the pages name it (in Chinese: the templates translate it)."""
    return kind_names().get(kind, kind)
