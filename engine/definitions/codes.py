"""What each validation problem code means, in Chinese and English for administrators, and which part of
the conventions guide (docs/bpmn-conventions*.md, served at /admin/conventions) explains it. The
element, line and the technical detail stay in the problem itself."""

from __future__ import annotations

# code -> (Chinese, English, anchor in the conventions guide or None)
PROBLEMS: dict[str, tuple[str, str, str | None]] = {
    "too-large": ("文件太大", "The file is too large", None),
    "unreadable": ("文件读不出来", "The file cannot be read", None),
    "not-bpmn": ("不是 BPMN 文件", "Not a BPMN file", None),
    "xml-syntax": ("XML 格式错误", "XML syntax error", None),
    "xml-doctype": ("含有不允许的 DOCTYPE 或实体声明", "DOCTYPE or entity declarations are not allowed", None),
    "xsd": ("不符合 BPMN 2.0 规范", "Not valid BPMN 2.0", None),
    "not-executable": (
        '只是示意图，不能执行（没有 isExecutable="true"）',
        'A descriptive model, not executable (no isExecutable="true")',
        "process",
    ),
    "several-processes": ("一个文件里有多个可执行流程", "Several executable processes in one file", "process"),
    "duplicate-id": ("元素 id 重复", "Duplicate element id", None),
    "no-start-event": ("缺少开始事件", "No start event", "start-event"),
    "no-end-event": ("缺少结束事件", "No end event", None),
    "dangling-flow": ("连线指向不存在的元素", "A sequence flow points at a missing element", None),
    "dangling-ref": ("引用了不存在的元素", "A reference to a missing element", None),
    "unreachable": ("从开始事件走不到这个环节", "This element cannot be reached from a start event", None),
    "multiple-outgoing": (
        "环节有多条出线，没有用网关分流",
        "Several outgoing flows without a gateway",
        "expressions",
    ),
    "gateway-condition": (
        "网关分支缺少条件或默认分支",
        "A gateway branch lacks a condition or default flow",
        "expressions",
    ),
    "bad-expression": ("条件表达式写法不对", "The condition expression is not valid", "expressions"),
    "bad-script": ("脚本写法不对", "The script is not valid", "expressions"),
    "script-not-allowed": ("不允许的脚本", "Scripts of this kind are not allowed", "expressions"),
    "bad-timer": ("定时器的时间写法不对", "The timer value is not valid", "expressions"),
    "no-role": ("环节没有指定办理角色", "The step has no role (pl:role)", "roles"),
    "unknown-role": ("办理角色不存在", "Unknown role", "roles"),
    "bad-time-limit": ("办理时限写法不对", "The time limit (pl:timeLimit) is not valid", "user-tasks"),
    "bad-calendar": ("时限日历只能是自然日或工作日", "pl:calendar is calendar or working", "user-tasks"),
    "bad-category": ("事项分类不在“五小一跑”之内", "The category is not one of the six", "process"),
    "unknown-attribute": ("不认识的 pl: 属性", "Unknown pl: attribute", "user-tasks"),
    "unsupported-element": ("平台不支持这种元素", "This element is not supported", "untriggerable"),
    "form-path": ("表单路径不对", "The form path is not valid", "forms"),
    "form-missing": ("找不到表单文件", "The form file is missing", "forms"),
    "form-invalid": ("表单文件有错", "The form file has mistakes", "forms"),
    "engine-parse": ("流程引擎无法读入", "The workflow engine cannot read it", None),
    "internal-error": ("检查时出了内部错误", "Internal error while checking", None),
    "form-overwrites-variable": (
        "表单的项目与脚本设置的变量同名，填表人可以改写它",
        "A form field has the name of a variable a script sets",
        "forms",
    ),
    "bad-operations": ("环节允许的办理方式写法不对", "pl:operations is not valid", "user-tasks"),
    "role-cannot-act": (
        "环节交给了只读或管理岗位，没有人能办理",
        "The step is given to a role that cannot act",
        "roles",
    ),
    "untriggerable": (
        "平台里没有任何东西能触发这个元素：事项走到这里会卡住，无人负责",
        "Nothing in the product can trigger this element: a matter would be stuck here with nobody responsible",
        "untriggerable",
    ),
    "idle-element": (
        "这个元素不会做任何事：没有人办理，也没有东西触发或接收它",
        "This element does nothing: nobody does it and nothing triggers or receives it",
        "untriggerable",
    ),
    "too-many-files": ("文件太多", "Too many files", None),
    "no-bpmn": ("上传的文件里没有 BPMN 文件（.bpmn）", "No BPMN file (.bpmn) in the upload", None),
    "several-bpmn": ("一次只能上传一个 BPMN 文件", "Upload one BPMN file at a time", None),
    "bad-zip": ("zip 包读不出来", "The zip file cannot be read", None),
}

# Kept for callers that read the Chinese wording alone.
PROBLEM_SUMMARIES: dict[str, str] = {code: texts[0] for code, texts in PROBLEMS.items()}


def summary(code: str, language: str = "zh") -> str | None:
    """The problem's meaning in ``language`` (zh or en); None for an unknown code."""
    texts = PROBLEMS.get(code)
    if texts is None:
        return None
    return texts[1] if language == "en" else texts[0]


def guide_anchor(code: str) -> str | None:
    """The section of the conventions guide that explains the problem, when one does."""
    texts = PROBLEMS.get(code)
    return texts[2] if texts else None
