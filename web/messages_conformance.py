# ruff: noqa: E501
"""English for the Chinese text of conformance checking against an uploaded BPMN model."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    # the kind of finding a step done where the model has no place for it (audit.deviation_kinds of engine/texts/zh/audit.yaml)
    "多出的步骤": "Inserted step",
    # the auditors' conformance page (web/templates/auditor/conformance.html)
    "或上传流程模型": "Or upload a process model",
    "任何建模工具画的 BPMN 2.0 文件（Signavio、ARIS、Camunda Modeler、bpmn.io 等），可以是描述性的、不可执行的；上传后按这个模型检查，不用上面选的事项。": "A BPMN 2.0 file from any modeler (Signavio, ARIS, Camunda Modeler, bpmn.io…), descriptive and not executable is fine; the log is then checked against this model instead of the item chosen above.",
    "模型中的流程（可不填）": "Process in the model (optional)",
    "文件中有几个流程（泳池）时，写要用的流程的编号或名称；不填就用任务最多的那个。": "When the file holds several processes (pools), the id or name of the one to use; by default the one with the most tasks.",
    # web/auditor/conformance.py
    "模型文件太大了：最大 {size}": "The model file is too large: at most {size}",
    "模型文件无法读取：": "The model file cannot be read: ",
    "第 {n} 行": "line {n}",
    # the findings' summary (web/templates/auditor/_findings.html): cases past the exact check's bounds
    "{n} 件没有检查完（精确检查超出了时间或状态上限），不计入上面的数字：": "{n} cases were not checked (the exact check went past its time or state bound) and are not counted above:",
    "正在进行的日志检查已有 {n} 个（同时最多 {n} 个），请过几分钟再上传": "{n} log checks are running already (at most {n} at once); please upload again in a few minutes",
}
