"""The wording of the error codes of 我们的钱包 (the village's accounts: income, spending, balance),
code -> (Chinese, English), merged into :data:`engine.messages.CATALOGUE`."""

from __future__ import annotations

CATALOGUE: dict[str, tuple[str, str]] = {
    "ledger.journal_invalid": (
        "{file} 有 {count} 处问题，什么都没有导入：{problems}",
        "{file} has {count} problem(s); nothing was imported: {problems}",
    ),
    "ledger.month_invalid": ("月份应写成 2026-11 这样：{month}", "Give the month as 2026-11, not {month}"),
    "ledger.month_imported": (
        "{village} 的 {month} 已经导入过（{file}）；要替换请勾选“替换”并说明原因",
        "{month} of {village} was already imported ({file}); to replace it, say so and give a reason",
    ),
    "ledger.reason_required": (
        "替换已导入的 {month} 须说明原因",
        "Replacing the imported {month} needs a reason",
    ),
    "ledger.month_disclosed": (
        "{village} 的 {month} 财务公开已经村监会审核签字或已公开，这个月的账不能再导入或替换；"
        "更正请记入以后月份的序时账（调整分录），并在那个月的财务公开里说明",
        "The finance disclosure of {month} of {village} was signed by the supervisory committee or posted, so "
        "that month's accounts can no longer be imported or replaced; book the correction in a later month's "
        "journal (an adjusting entry) and explain it in that month's disclosure",
    ),
}
