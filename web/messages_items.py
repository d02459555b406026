# ruff: noqa: E501
"""English for the Chinese text of the power list's items and the published decisions and results."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    # the kinds of publication (engine.public.decisions.KINDS), shown through _()
    "决议公开": "Resolution published",
    "结果公开": "Result published",
    "公示": "Public notice",
    # decisions pages
    "决议和结果公开": "Published decisions and results",
    "村里的大事按“四议两公开”决定：决议通过后张贴公开，办完以后再公开结果。这里是张贴过的决议、结果和公示。": "Major village matters are decided by the “four deliberations and two disclosures”: a resolution is posted once passed, and the result once carried out. Here are the resolutions, results and notices that were posted.",
    "只看：{name}": "Only: {name}",
    "看全部": "Show all",
    "还没有公开的决议和结果。": "No decisions or results published yet.",
    "公开日期": "Posted",
    "至": "to",
    "表决": "Vote",
    "应到 {members} 人，实到 {present} 人；赞成 {votes_for}，反对 {votes_against}，弃权 {abstain}": "{members} expected, {present} present; {votes_for} for, {votes_against} against, {abstain} abstaining",
    "办理结果": "Result",
    "结果还没有公开。": "The result has not been published yet.",
    "对公开的内容有疑问，可以找村务监督委员会，也可以": "Questions about what was posted? Ask the village supervisory committee, or",
    "最新决议和结果公开": "Latest published decisions and results",
    "结果已公开": "result published",
    "看全部决议和结果": "All decisions and results",
    # item pages
    "点开每一项，可以看到它的流程图和办事说明。": "Open an item to see its flowchart and a plain explanation.",
    "责任主体": "Responsible",
    "这件事是干什么的": "What this is for",
    "谁可以申请或提出": "Who may ask",
    "谁来办、谁来定": "Who handles and who decides",
    "图较大，可以左右、上下滑动查看。": "The chart is large: swipe to move around it.",
    "流程图，可滑动查看": "Flowchart, swipe to move around it",
    "这个事项的流程图暂时画不出来，请看下面的办理步骤。": "The flowchart of this item cannot be drawn right now; see the steps below.",
    "办理：{who}": "By: {who}",
    "时限：{limit}": "Time limit: {limit}",
    "“工作日”不算周六、周日和法定节假日；写“天”的按日历天数算。": "“Working days” leave out weekends and public holidays; “days” are calendar days.",
    "要带的材料": "What to bring",
    "要公开什么、要注意什么": "What is made public, and what to mind",
    "各村公开的决议和结果": "Decisions and results published by each village",
    "办完要公开的内容": "What is made public",
    "各村公开的内容见页面下方的链接。": "Each village's postings are linked at the bottom of this page.",
}
