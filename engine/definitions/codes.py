"""What each validation problem code means, in Chinese for administrators (the detail stays in the message)."""

from __future__ import annotations

PROBLEM_SUMMARIES: dict[str, str] = {
    "too-large": "文件太大",
    "unreadable": "文件读不出来",
    "not-bpmn": "不是 BPMN 文件",
    "xml-syntax": "XML 格式错误",
    "xml-doctype": "含有不允许的 DOCTYPE 或实体声明",
    "xsd": "不符合 BPMN 2.0 规范",
    "not-executable": '只是示意图，不能执行（没有 isExecutable="true"）',
    "several-processes": "一个文件里有多个可执行流程",
    "duplicate-id": "元素 id 重复",
    "no-start-event": "缺少开始事件",
    "no-end-event": "缺少结束事件",
    "dangling-flow": "连线指向不存在的元素",
    "dangling-ref": "引用了不存在的元素",
    "unreachable": "从开始事件走不到这个环节",
    "multiple-outgoing": "环节有多条出线，没有用网关分流",
    "gateway-condition": "网关分支缺少条件或默认分支",
    "bad-expression": "条件表达式写法不对",
    "bad-script": "脚本写法不对",
    "script-not-allowed": "不允许的脚本",
    "bad-timer": "定时器的时间写法不对",
    "no-role": "环节没有指定办理角色",
    "unknown-role": "办理角色不存在",
    "bad-time-limit": "办理时限写法不对",
    "bad-calendar": "时限日历只能是自然日或工作日",
    "bad-category": "事项分类不在“五小一跑”之内",
    "unknown-attribute": "不认识的 pl: 属性",
    "unsupported-element": "平台不支持这种元素",
    "form-path": "表单路径不对",
    "form-missing": "找不到表单文件",
    "form-invalid": "表单文件有错",
    "engine-parse": "流程引擎无法读入",
    "internal-error": "检查时出了内部错误",
    "form-overwrites-variable": "表单的项目与脚本设置的变量同名，填表人可以改写它",
    "bad-operations": "环节允许的办理方式写法不对",
    "role-cannot-act": "环节交给了只读或管理岗位，没有人能办理",
}


def summary(code: str) -> str | None:
    return PROBLEM_SUMMARIES.get(code)
