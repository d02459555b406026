"""Form data that carries the shipped flows step by step (field names from processes/<key>/forms)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from engine.catalog.catalog import SHIPPED
from engine.catalog.examples import example_path

MEETING = {"meeting_place": "村委会议室", "chair_name": "张建国", "recorder_name": "李文"}
VOTE_ALL = {"members": 7, "present": 7, "votes_for": 7, "votes_against": 0, "abstain": 0, "passed": True}
POSTING = {
    "posting_content": "公示内容",
    "posting_place": "村务公开栏",
    "objections": 0,
    "objections_resolved": True,
}

def _moved(value, days: int):
    """``value`` with every ISO date in it ``days`` later."""
    if isinstance(value, dict):
        return {key: _moved(item, days) for key, item in value.items()}
    if isinstance(value, list):
        return [_moved(item, days) for item in value]
    if isinstance(value, str) and _DATE.fullmatch(value):
        return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
    return value


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HAPPY = example_path(SHIPPED / "four_deliberations" / "four_deliberations.bpmn", "happy").step_data()
# The happy path of processes/four_deliberations/examples.yaml, moved to the tests' November 2026:
# the resolution is passed on 9 November and posted from 10 November.
FOUR_DELIBERATIONS = _moved(
    _HAPPY, (date(2026, 11, 9) - date.fromisoformat(_HAPPY["resolve"]["meeting_date"])).days
)

VOUCHER = {
    "amount_fen": 50_000,
    "payee": "王五建材店",
    "payee_account": "6222000000000000",
    "purpose": "购买修路水泥",
    "expense_category": "project",
    "voucher_kind": "invoice",
    "spent_on": "2026-11-02",
    "payment_method": "village_card",
    "handler_name": "李文",
    "witness_name": "赵强",
    "resolution_ref": "",
}
FUND_PAYMENT = {
    "voucher": VOUCHER,
    "finance_signoff": {"signoff_approved": True, "signer_name": "张建国", "signed_on": "2026-11-03", "opinion": ""},
    "supervisory_review": {
        "supervisory_approved": True,
        "reviewers": ["王监督", "陈监督", "刘监督"],
        "reviewed_on": "2026-11-04",
        "seal_applied": True,
        "opinion": "",
    },
    "bookkeeper_submit": {"submitted_on": "2026-11-05", "bookkeeper_name": "孙会计", "voucher_count": 2, "note": ""},
    "town_audit": {"audit_result": "approved", "auditor_name": "周审核", "audited_on": "2026-11-06", "opinion": ""},
    "payment": {
        "paid_amount_fen": 50_000,
        "paid_on": "2026-11-09",
        "payment_method": "village_card",
        "payment_reference": "CARD-20261109-001",
        "accountant_name": "吴会计",
    },
}

SEAL_USE = {
    "request_seal": {
        "requester_name": "李文",
        "kind": "document",
        "document_title": "修路项目报告",
        "purpose": "报镇政府",
        "copies": 2,
        "resolution_ref": "",
        "content_complete": True,
    },
    "head_approval": {"head_approved": True, "approver_name": "张建国", "approved_on": "2026-11-02", "opinion": ""},
    "stamp": {
        "stamp_decision": "stamped",
        "keeper_name": "李文",
        "approver_name": "张建国",
        "handler_name": "李文",
        "reason": "修路项目报告",
        "stamp_count": 2,
        "used_on": "2026-11-02",
        "refusal_reason": "",
    },
}

REVIEW = {
    **MEETING,
    "meeting_date": "2026-11-10",
    "members": 15,
    "present": 12,
    "votes_for": 10,
    "votes_against": 2,
    "abstain": 0,
    "passed": True,
    "secret_ballot": True,
    "town_staff": "镇民政办刘干事",
}
SUBSISTENCE_AID = {
    "accept_application": {
        "applicant_name": "钱大爷",
        "id_number": "330000195001010000",
        "aid_kind": "subsistence",
        "household_size": 2,
        "monthly_income_fen": 50_000,
        "reason": "因病致贫，无劳动能力",
        "documents_complete": True,
        "consent_signed": True,
        "is_cadre_relative": True,
        "accepted_on": "2026-11-02",
    },
    "town_survey": {
        "surveyors": ["刘干事", "陈干事"],
        "survey_date": "2026-11-04",
        "home_visited": True,
        "per_capita_income_fen": 25_000,
        "findings": "家庭收入低于当地低保标准",
        "meets_criteria": True,
    },
    "democratic_review": REVIEW,
    "town_opinion": {"town_recommends": True, "reviewer_name": "镇民政办", "reviewed_on": "2026-11-10", "opinion": ""},
    "posting": {**POSTING, "posting_start": "2026-11-11", "posting_end": "2026-11-17", "posting_days": 7},
    "county_approval": {
        "county_approved": True,
        "spot_checked": False,
        "cadre_relative": True,
        "monthly_amount_fen": 60_000,
        "approver_name": "县民政局",
        "decided_on": "2026-11-25",
        "opinion": "",
    },
}
