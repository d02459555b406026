"""The wording of the error codes of 三务公开 (periodic disclosures and the half-yearly reports),
code -> (Chinese, English), merged into :data:`engine.messages.CATALOGUE`."""

from __future__ import annotations

CATALOGUE: dict[str, tuple[str, str]] = {
    "disclosure.not_ended": (
        "{period} 还没结束，期满后再生成公开",
        "The period {period} has not ended; prepare its disclosure once it has",
    ),
    "disclosure.frozen": (
        "{period} 的公开已经村监会审核，不能再改",
        "The disclosure of {period} was signed by the supervisory committee and can no longer change",
    ),
    "disclosure.not_prepared": ("{period} 的公开还没有生成", "The disclosure of {period} has not been prepared"),
    "disclosure.not_draft": (
        "{period} 的公开不是待审核状态",
        "The disclosure of {period} is not awaiting review (it is {status})",
    ),
    "disclosure.not_approved": (
        "{period} 的公开须经村监会审核签字后才能公开",
        "The disclosure of {period} must be signed by the supervisory committee before it is posted (it is {status})",
    ),
    "disclosure.digest_mismatch": (
        "公开内容与摘要不符，请重新生成",
        "The disclosure's content no longer matches its digest; prepare it again",
    ),
    "disclosure.changed": (
        "{period} 的公开在您审阅之后重新生成过（您看的是第 {read} 版，现在是第 {revision} 版），请看过新的内容再审核",
        "The disclosure of {period} was prepared again after you read it (you read revision {read}, it is now "
        "revision {revision}); read the new content before you review it",
    ),
    "disclosure.own_preparation": (
        "{period} 的公开是您生成的，须由村监会的其他成员审核",
        "You prepared the disclosure of {period}; another member of the supervisory committee must review it",
    ),
}
