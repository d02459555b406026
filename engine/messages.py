"""How each error code reads, in Chinese and English: the one catalogue that pages, API answers and
the command line word the engine's errors from.

An error carries a stable ``code`` and its ``params`` (see :class:`engine.errors.PowerlistError`);
an entry here words it. A code without an entry reads as the error's own message.
"""

from __future__ import annotations

from engine.errors import PowerlistError

LANGUAGES = ("zh", "en")

# code -> (Chinese, English); {names} are the error's params.
CATALOGUE: dict[str, tuple[str, str]] = {
    "not_found": ("找不到这个对象，或您无权查看", "Not found, or not yours to see"),
    "permission_denied": ("您没有权限做这件事", "You may not do this"),
    "invalid_state": ("现在不能这样做", "This cannot be done now"),
    "conflict": ("别人刚刚也修改了，请刷新后再试", "Someone else changed it just now; reload and try again"),
    "form.invalid": ("表单「{step}」有误，请按提示修改", "The form of '{step}' has mistakes; see each field"),
    "rules.invalid": ("规则文件有问题：{problems}", "A rule file has problems: {problems}"),
    "definition.invalid": ("流程文件有问题，请按提示修改", "The flow file has problems; see each one"),
    "user.unknown": ("没有启用的用户 {user}", "No active user '{user}'"),
    "unit.not_found": ("没有代码为 {unit} 的县、镇或村", "No county, town or village '{unit}'"),
    "unit.not_a_village": ("{unit} 不是村", "'{unit}' is not a village"),
    "policy.denied": ("{user} 无权做这件事", "{user} may not do this"),
    "matter.not_found": ("没有这个事项，或您无权查看", "No such matter, or not yours to see"),
    "matter.start_denied": (
        "{user} 不能在 {village} 发起这个事项（{flow}）",
        "{user} may not start a matter of '{flow}' in {village}",
    ),
    "matter.ended": ("事项 {matter} 已经结束", "Matter {matter} has ended"),
    "matter.changed": (
        "别人刚刚也修改了这个事项，请刷新后再试",
        "Someone else changed matter {matter} just now; reload and try again",
    ),
    "matter.not_withdrawable": (
        "下一步已经有人办理，或这一步不是您办理的，不能撤回",
        "This cannot be withdrawn: the next step was acted on, or the step was not yours",
    ),
    "flow.not_published": ("本县没有发布这个事项", "This item is not published in this county"),
    "flow.not_found": ("没有事项 {key}", "No item '{key}'"),
    "flow.not_a_county": ("{unit} 不是县：流程只发布到县", "{unit} is not a county: flows are published to counties"),
    "start.too_many_fields": ("发起时填写的项目太多了", "The start data has too many fields"),
    "start.title": ("事项名称必须是文字", "The title must be text"),
    "step.failed": ("流程无法继续，请联系管理员", "The flow could not go on; tell the administrator"),
    "step.operation_not_allowed": (
        "「{step}」不能这样办理：流程规定这一步只能依法办理完成",
        "Step '{step}' does not allow '{operation}': the flow says it must be done",
    ),
    "task.not_open": (
        "该步骤已经办理过了，或者已被退回、撤回",
        "This step was already done, returned or withdrawn",
    ),
    "task.not_ready": ("「{step}」现在不能办理", "Step '{step}' cannot be done now"),
    "task.not_holder": (
        "{user} 不能办理「{step}」：这一步由 {unit} 的 {role} 岗位办理",
        "{user} may not do '{step}': it is for the {role} of {unit}",
    ),
    "task.assigned_to_other": ("此步骤已转给 {user} 办理", "This step was handed to {user}"),
    "check.not_waivable": (
        "「{message}」是法定要求，不能以理由越过（依据：{basis}）",
        "“{message}” is a statutory rule and cannot be waived with a reason (basis: {basis})",
    ),
    "task.awaiting_approver": (
        "请等待加签人 {approver} 审批后再办理",
        "Wait for the added approver {approver} to decide first",
    ),
    "task.parked": (
        "已经提交过，正在等待加签人 {approver} 审批",
        "Already submitted; waiting for the added approver {approver}",
    ),
    "task.not_returnable": (
        "不能退回到「{step}」：这个事项没有经过该步骤",
        "Cannot return to '{step}': the matter did not pass through it",
    ),
    "reason.too_short": ("请写明理由（至少 {min} 个字）", "Give a reason of at least {min} characters"),
    "reason.too_long": ("理由太长了（最多 {max} 个字）", "The reason is too long (at most {max} characters)"),
    "note.too_long": ("说明太长了（最多 {max} 个字）", "The note is too long (at most {max} characters)"),
    "transfer.self": ("不能转办给自己", "You cannot hand a step to yourself"),
    "transfer.not_holder": (
        "{user} 不是本步骤同一岗位的人员，不能转给他",
        "{user} does not hold this step's role ({role}) here",
    ),
    "copy.no_recipients": ("请选择抄送给谁", "Choose whom to copy the matter to"),
    "copy.too_many": ("一次最多抄送 {max} 人", "At most {max} people at a time"),
    "copy.not_reader": ("{user} 无权查看本事项，不能抄送给他", "{user} may not see this matter"),
    "remind.own_step": ("这是您自己要办的步骤，不用催办", "This step is yours to do"),
    "remind.too_soon": ("您一小时内已经催办过这一步了", "You reminded this step less than an hour ago"),
    "approval.not_found": ("没有这个加签审批", "No such added approval"),
    "approval.position": ("加签方式只能是“前加签”或“后加签”", "The position is 'before' or 'after'"),
    "approval.self": ("不能加签给自己", "You cannot add yourself as approver"),
    "approval.not_eligible": (
        "{user} 无权查看或办理本事项，不能加签给他",
        "{user} may not see or act in this matter",
    ),
    "approval.pending": ("这一步已经有一个加签在等待审批", "An added approval of this step is already pending"),
    "approval.decided": ("这个加签已经审批过了", "This added approval was already decided"),
    "approval.not_submitted": (
        "办理人还没有提交，请等提交后再审批",
        "The holder has not submitted yet; decide once they have",
    ),
    "approval.comment_required": ("不同意时请写明意见", "Say why when you disagree"),
    "approval.agree": ("请选择同意或不同意", "Choose agree or disagree"),
    "approval.stale": (
        "该步骤已经变化，这个加签不再需要审批",
        "The step changed; this added approval is no longer needed",
    ),
    "complaint.contact_denied": (
        "只有答复举报人的办理人能看举报人的联系方式",
        "Only those who reply to the reporter see their contact",
    ),
    "complaint.anonymous_contact": (
        "匿名举报不能留联系方式（{field}）：要留联系方式以便答复的，请不要选匿名",
        "An anonymous report leaves no contact ({field}); to be answered, do not report anonymously",
    ),
    "token.not_found": ("没有编号为 {token} 的令牌", "No token {token}"),
    "user.not_found": ("没有这个用户，或不归您管理", "No such user, or not one you manage"),
    "user.other_county": ("{user} 在别的县有岗位，您不能管理", "{user} holds a role in another county"),
    "unit.new_county": ("新建县只能用命令行", "Counties are added from the command line only"),
    "unit.not_administered": ("您不是 {county} 的管理员", "You do not administer {county}"),
    "flow.other_county": (
        "事项 {key} 已发布到{counties}，您不是那里的管理员，不能部署它的新版本",
        "Item '{key}' is published to {counties}, which you do not administer; you cannot deploy it",
    ),
    "flow.shared": (
        "事项 {key} 还发布在{counties}，只有这些县也归您管理时才能停用或恢复它的版本",
        "Item '{key}' is also published to {counties}; only their administrators may retire or reinstate it",
    ),
    "role.wrong_level": (
        "{role}是{level}一级的岗位，{unit}是{unit_level}：请选择一个{level}",
        "{role_en} is held in a {level_en}, and {unit} is a {unit_level_en}: choose a {level_en}",
    ),
    "role.unknown": ("没有这个岗位：{role}", "No role '{role}'"),
    "unit.bad_level": ("级别只能是县、镇或村，不是 {level}", "A unit is a county, town or village, not '{level}'"),
    "unit.wrong_parent": ("{level}应当属于{parent}", "This unit must belong to a unit one level up"),
    "flow.listing_uncategorised": (
        "事项 {key} 还没有分类（pl:category），不能向村民公示",
        "Item '{key}' has no category (pl:category); it cannot be shown to villagers",
    ),
    "flow.listing_unnumbered": (
        "事项 {key} 还没有清单编号（pl:number），不能向村民公示",
        "Item '{key}' has no power-list number (pl:number); it cannot be shown to villagers",
    ),
    "flow.listing_retired": (
        "事项 {key} 没有在用的版本，不能向村民公示",
        "Item '{key}' has no version in service; it cannot be shown to villagers",
    ),
    "flow.listing_changed": (
        "事项 {key} 在您审核后又部署了第 {version} 版，请重新核对后再公示",
        "Item '{key}' got version {version} after your review; review it again before showing it",
    ),
    "role.incompatible": (
        "{user} 已在 {unit} 担任 {held}，不能同时担任 {role}（依据：{legal_basis}）",
        "{user} holds '{held}' in {unit} and may not also hold '{role}' (incompatible duties)",
    ),
    "task.incompatible_duty": (
        "{user} 已在本事项办理「{other}」，不能再办理「{step}」（依据：{legal_basis}）",
        "{user} did '{other}' in this matter and may not also do '{step}' (incompatible duties)",
    ),
    "matter.decision_stands": (
        "本事项已有通过的决议 {number}，不能{operation}；如需改变，应依法重新召开会议表决",
        "The matter holds the passed decision {number}; one person cannot undo it. Changing it takes a new vote",
    ),
    "database.busy": (
        "数据库正忙，重试 {tries} 次仍未成功，这次提交没有生效，请稍后再试",
        "The database stayed busy after {tries} tries; nothing was saved, try again later",
    ),
    "backup.refused": ("不能备份或恢复这个数据库", "This database cannot be backed up or restored"),
    "backup.not_sqlite": (
        "数据库是 {backend}：请用 pg_dump 备份、pg_restore 恢复",
        "The database is {backend}: back it up with pg_dump and restore it with pg_restore",
    ),
    "backup.missing": ("文件 {file} 不存在", "The file {file} does not exist"),
    "backup.same_file": ("备份文件不能是数据库本身", "The backup file cannot be the database itself"),
    "backup.exists": ("{file} 已有内容；要覆盖请加 --force", "{file} already holds data; add --force to overwrite it"),
    "backup.in_use": (
        "数据库 {file} 正在使用中；请先停止服务和其他命令再恢复",
        "The database {file} is in use; stop the server and other commands before restoring",
    ),
    "backup.damaged": (
        "{file} 不是完好的 SQLite 数据库：{problem}",
        "{file} is not a sound SQLite database: {problem}",
    ),
    "idempotency.taken": (
        "同一个提交刚刚已经办理，请查看它的结果",
        "The same submission was just done; see its result",
    ),
    "draft.too_large": (
        "草稿太大了（{size} 字节，最多 {max} 字节）",
        "The draft is too large ({size} bytes, at most {max})",
    ),
    "draft.revision": (
        "草稿的版本号必须是 0 以上的整数（填写时的时间，毫秒）",
        "revision: the draft's version must be a whole number from 0 (the typing time in milliseconds)",
    ),
    "draft.outdated": (
        "这份草稿已经有更新的版本（在别处填写的），没有覆盖它",
        "A later version of this draft was saved elsewhere; it was not overwritten",
    ),
    "draft.busy": ("这份草稿刚刚在别处保存过，请稍后再试", "This draft was just saved elsewhere; try again shortly"),
    "draft.start_denied": (
        "{user} 不能发起这个事项（{flow}），也就不能保存它的草稿",
        "{user} may not start '{flow}', so keeps no draft of it",
    ),
    "decision.not_found": ("本村决议台账中没有 {number}", "The village's decision register has no {number}"),
    "decision.not_open": ("{number} 已结项或已撤销", "{number} is closed or revoked"),
    "violation.dismiss_level": (
        "这个预警只能由{level}级监督机构或上级不予认定，请上报",
        "Only the {level} supervisors or above may dismiss this warning; escalate it",
    ),
    "violation.not_found": ("没有这条预警，或您无权查看", "No such warning, or not yours to see"),
    "violation.unknown_action": ("没有这种处理：{action}（可用：{actions}）", "No action '{action}' ({actions})"),
    "violation.note_required": ("请填写说明或理由（至少 {min} 个字）", "Give a note or reason ({min}+ characters)"),
    "violation.note_too_long": ("说明或理由最多 {max} 个字", "The note or reason takes at most {max} characters"),
    "violation.deadline": (
        "整改期限须是 {today} 起 {days} 天内的日期（YYYY-MM-DD）",
        "The deadline must be a date (YYYY-MM-DD) from {today} to {days} days on",
    ),
    "violation.owner_role": ("整改责任岗位须是村里的岗位：{role}", "The owner must be a village role: '{role}'"),
    "violation.owner_user": ("{user} 不是本村的该岗位人员（{role}）", "{user} does not hold {role} in this village"),
    "violation.wrong_state": ("预警 #{violation} 现在是 {status}，不能这样处理", "Warning #{violation} is {status}"),
    "violation.at_top": ("预警 #{violation} 已在最高一级，不能再上报", "Warning #{violation} is at the top level"),
    "search.query": ("请输入 {min} 到 {max} 个字的查询", "Search for {min} to {max} characters"),
    "worklist.filter": ("筛选条件 {field} 不对：{value}", "Filter {field} is not valid: '{value}'"),
    "notice.templates_invalid": ("文书模板有误：{problem}", "The document templates are invalid: {problem}"),
    "notice.kind_unknown": (
        "没有这种文书：{kind}（预警通知书 warning、整改通知书 rectification、督查令 order）",
        "No kind of document '{kind}' (warning, rectification, order)",
    ),
    "notice.text_required": ("请填写 {field}", "{field} is required"),
    "notice.text_too_long": ("{field} 最多 {max} 个字", "{field} takes at most {max} characters"),
    "notice.date_invalid": ("{field}：日期应写成 2026-12-31", "{field}: a date is written 2026-12-31"),
    "notice.deadline_past": ("{field}：整改期限不能早于今天", "{field}: the deadline cannot be before today"),
    "notice.period_invalid": ("{field}：季度写作 2026Q4", "{field}: a quarter is written 2026Q4"),
    "notice.target_missing": (
        "请指明预警，或村和考评期间",
        "Name a violation, or a village and a period",
    ),
    "notice.order_needs_violation": ("督查令只针对一条预警签发", "A supervision order is issued for a violation"),
    "notice.violation_dismissed": (
        "预警 #{violation} 已不予认定，不能再签发文书",
        "Warning #{violation} was dismissed; no document is issued for it",
    ),
    "notice.grade_calls_for_other": (
        "{village} 在 {period} 定档为 {grade}，不需要{kind}",
        "{village} was graded {grade} in {period}, which does not call for a {kind}",
    ),
    "notice.already_issued": (
        "{village} {period} 的通知书已经签发：{number}",
        "The notice of {village} for {period} was issued already: {number}",
    ),
    "notice.already_received": ("{number} 已由 {by} 签收", "{number} was received already, by {by}"),
    "notice.received_on_range": (
        "{field}：签收日期应在签发之日和今天之间",
        "{field}: the day of receipt lies between the day of issue and today",
    ),
    "notice.not_found": ("没有这份文书，或您无权查看", "No such document, or not yours to see"),
    "notice.issue_denied": ("{user} 不能签发{kind}：由{roles}签发", "{user} may not issue a {kind}: {roles} do"),
    "notice.receive_denied": (
        "{user} 不能登记{kind}的签收：由{roles}登记",
        "{user} may not record the receipt of a {kind}: {roles} do",
    ),
    "talk.kind_unknown": (
        "没有这种谈话：{kind}（约谈 interview、提醒谈话 reminder）",
        "No kind of talk '{kind}' (interview, reminder)",
    ),
    "talk.present_invalid": (
        "{field}：请填写在场人员，每人姓名和职务（最多 {max} 人）",
        "{field}: list the people present, each with name and office (at most {max})",
    ),
    "talk.date_future": ("{field}：谈话日期不能晚于今天", "{field}: the talk cannot be after today"),
    "talk.follow_up_before": (
        "{field}：回访日期不能早于谈话日期",
        "{field}: the follow-up cannot be before the talk",
    ),
    "talk.target_missing": ("请指明预警或村", "Name a violation or a village"),
    "talk.record_denied": ("{user} 不能记录{kind}：由{roles}记录", "{user} may not record a {kind}: {roles} do"),
    "input.invalid": ("{field}：不是可以接受的输入", "{field}: not an input this takes"),
    "input.idempotency_key": (
        "idempotency_key：8 到 64 个字母、数字、'-' 或 '_'",
        "idempotency_key: 8–64 letters, digits, '-' or '_'",
    ),
    "input.not_json": (
        "{field}：不是有效的 JSON（第 {line} 行第 {column} 列）",
        "{field}: not valid JSON (line {line}, column {column})",
    ),
    "input.not_object": ("{field}：必须是一个 JSON 对象", "{field}: a JSON object is required"),
    "input.not_utf8": (
        "{field}：不是 UTF-8 编码的文字（第 {position} 个字节）",
        "{field}: not UTF-8 text (byte {position})",
    ),
    "input.not_finite": ("{field}：数字 {value} 不是有限的数", "{field}: {value} is not a finite number"),
    "input.surrogate": (
        "{field}：含有无法识别的字符（不是有效的 UTF-8 文字）",
        "{field}: holds characters that are not valid UTF-8 text",
    ),
    "input.integer_too_large": (
        "{field}：数字太大了（最多 {max}）",
        "{field}: the number is too large (at most {max})",
    ),
    "input.amount_too_large": (
        "{field}：金额太大了（最多 {max} 分）",
        "{field}: the amount is too large (at most {max} fen)",
    ),
    "input.string_too_long": (
        "{field}：文字太长了（最多 {max} 个字）",
        "{field}: the text is too long (at most {max})",
    ),
    "input.too_deep": ("{field}：嵌套太深了（最多 {max} 层）", "{field}: nested too deep (at most {max} levels)"),
    "input.too_large": ("{field}：内容太大了（最多 {max} 字节）", "{field}: too large (at most {max} bytes)"),
    "migration.version_not_found": ("没有 {key} 的第 {version} 版", "No version {version} of '{key}'"),
    "migration.target_retired": (
        "{key} 第 {version} 版已经停用，不能把事项迁移到停用的版本",
        "Version {version} of '{key}' is retired; matters cannot move to it",
    ),
    "migration.not_newer": (
        "只能迁移到更新的版本：第 {from} 版不早于第 {to} 版",
        "Matters move only to a newer version: version {from} is not older than version {to}",
    ),
    "migration.matter_changed": ("事项 {matter} 已经结束或已经迁移", "Matter {matter} ended or moved meanwhile"),
    "migration.state_failed": (
        "事项的状态不能迁移到新版本：{error}",
        "The matter's state cannot move to the new version: {error}",
    ),
    "migration.open_step_lost": ("迁移后步骤 {steps} 不再待办", "After the move, step {steps} would no longer be open"),
    "migration.open_step_removed": (
        "正在办理的步骤 {step} 在新版本中没有了",
        "The open step '{step}' is not in the new version",
    ),
    "migration.done_step_removed": (
        "已经办理的步骤 {step} 在新版本中没有了",
        "The step '{step}' the matter went through is not in the new version",
    ),
    "migration.step_renamed": (
        "步骤 {step} 在新版本中换了编号（{to}）",
        "Step '{step}' has another id in the new version ('{to}')",
    ),
    "migration.step_kind_changed": (
        "步骤 {step} 在新版本中换了类型",
        "Step '{step}' is of another kind in the new version",
    ),
    "migration.subprocess_removed": (
        "子流程 {process} 在新版本中没有了",
        "The subprocess '{process}' is not in the new version",
    ),
    "migration.role_changed": (
        "正在办理的步骤 {step} 换了办理岗位（{from} → {to}）",
        "The open step '{step}' is for another role in the new version ({from} → {to})",
    ),
    "migration.form_required_changed": (
        "正在办理的步骤 {step} 的必填项变了（新增：{added}；取消：{removed}）",
        "The required fields of the open step '{step}' changed (added: {added}; dropped: {removed})",
    ),
    "overview.period": (
        "{field}：期间「{value}」不对，月份写作 2026-10，季度写作 2026Q4，年度写作 2026",
        "{field}: '{value}' is not a period; a month is written 2026-10, a quarter 2026Q4, a year 2026",
    ),
    "overview.period_kind": (
        "{field}：这里的期间应当写作 {examples}，不是「{value}」",
        "{field}: here a period is written {examples}, not '{value}'",
    ),
    "overview.trend": (
        "{field}：趋势的期数应当是 1 到 {max} 之间的整数",
        "{field}: a trend covers 1 to {max} periods",
    ),
}


def _merge_areas() -> None:
    """The villagers' side keeps its codes beside its modules (``engine/public/*_texts.py``)."""
    from engine.public import disclosures_texts, items_texts, subsidies_texts, wallet_texts

    for area in (subsidies_texts, wallet_texts, disclosures_texts, items_texts):
        CATALOGUE.update(area.CATALOGUE)


_merge_areas()


def describe(error: PowerlistError, language: str = "zh") -> str:
    """The error worded for a person reading ``language``.

    In Chinese the error's own message is kept when it is Chinese (it names the particulars); in
    English, and for an engine message that is not Chinese, the catalogue's wording is used.
    """
    own = str(error)
    if language == "zh" and _is_chinese(own):
        return own
    entry = CATALOGUE.get(getattr(error, "code", ""))
    if entry is None:
        return own
    template = entry[1 if language == "en" else 0]
    try:
        return template.format(**getattr(error, "params", {}))
    except (KeyError, IndexError, ValueError):
        return own


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
