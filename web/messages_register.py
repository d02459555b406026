# ruff: noqa: E501
"""English for the decision register's pages (决议台账) and the forms' citations of it."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    "决议台账": "Decision register",
    "本村通过的每一项决议由系统编号登记。支出、合同和工程只能从台账中引用决议；每项决议下列出已签合同、已填报支出和村务卡等流水实际支付的金额，超出批准金额的标红。": "Every decision the village passes is numbered and registered by the system. Payments, contracts and works can cite only decisions from this register; under each decision are the amounts contracted, claimed in vouchers and actually paid by card or bank, in red where they exceed what was approved.",
    "村": "Village",
    "年度": "Year",
    "查看": "Show",
    "决议台账中还没有决议。": "The register holds no decision yet.",
    "类别": "Kind",
    "通过日期": "Passed on",
    "批准金额": "Approved",
    "合同金额": "Contracted",
    "已填报支出": "Claimed in vouchers",
    "流水实付": "Paid (statements)",
    "余额": "Balance",
    "纸质决议补登": "recorded from paper",
    "超支": "Overspent",
    "关闭": "Close",
    "关闭理由": "Reason for closing",
    "关闭这项决议": "Close this decision",
    "补登纸质决议": "Record a decision passed on paper",
    "使用本系统之前或在系统之外依法通过的决议，由镇三资中心凭会议记录补登。": "A decision lawfully passed before the village used the system, or outside it, is recorded by the town agency from its minutes.",
    "批准金额（元，没有金额的留空）": "Approved amount (yuan; empty when none)",
    "决议事项": "What was decided",
    "会议记录存放处或附件编号": "Where the minutes are kept, or the attachment number",
    "登记": "Record",
    "已关闭 {number}": "Closed {number}",
    "已登记 {number}": "Recorded {number}",
    "有效": "Open",
    "已结项": "Closed",
    "已撤销": "Revoked",
    "不引用（未达到须引用决议的标准）": "None (below the line that needs a decision)",
    "请从本村决议台账中选择": "Choose from the village's decision register",
    "本村决议台账中还没有可引用的决议": "The village's register has no decision this field may cite",
}
