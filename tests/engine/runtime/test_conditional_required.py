"""Requiredness follows the form's own conditions (``x-required-when``), the same on every adapter.

A field whose help says "…的留空" is required only when its condition holds: an empty answer to it
otherwise is left out of the record (not "无"), an empty answer when it holds is refused naming the
field. Requiredness, types and the legal checks are judged in one pass and returned together; which
failed checks a reason may waive is rule data (rules/defaults/waivers.yaml).
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import api
from engine.errors import FormInvalid
from engine.persistence.models import HistoryEvent
from engine.runtime import forms
from engine.runtime.forms import validate_form
from engine.workspace import waivers
from tests.conftest import ROOT
from tests.support.files import PDF
from tests.support.matters import example, open_steps
from tests.web.conftest import PASSWORD, app, auth, client  # noqa: F401 (fixtures)

FUND = ROOT / "processes" / "fund_payment" / "fund_payment.bpmn"
CADRE = "shangtang.cadre"


def form(flow: str, name: str) -> dict:
    return json.loads((ROOT / "processes" / flow / "forms" / f"{name}.json").read_text(encoding="utf-8"))


VOUCHER_FORM = form("fund_payment", "voucher")
CASH = dict(next(s.data for s in example(FUND, "village_head_800_yuan").steps if s.step == "voucher"))
CARD = dict(CASH, payment_method="village_card")


def refused_fields(step: str, schema: dict, data: dict, context: dict | None = None) -> dict[str, str]:
    with pytest.raises(FormInvalid) as refused:
        validate_form(step, schema, data, context=context)
    return {e.field: e.message for e in refused.value.errors}


# --- the engine -------------------------------------------------------------------------------


def test_a_choice_decides_whether_the_account_is_required():
    assert CASH["payment_method"] == "cash" and CASH["payee_account"] == ""
    clean = validate_form("voucher", VOUCHER_FORM, CASH)
    assert "payee_account" not in clean and "resolution_ref" not in clean  # left out, not stored as "无"
    assert clean["payee"] == CASH["payee"]
    refused = refused_fields("voucher", VOUCHER_FORM, CARD)
    assert list(refused) == ["payee_account"] and "收款账号" in refused["payee_account"]
    # Left out altogether is the same as left empty.
    assert list(refused_fields("voucher", VOUCHER_FORM, {k: v for k, v in CARD.items() if k != "payee_account"})) == [
        "payee_account"
    ]
    assert validate_form("voucher", VOUCHER_FORM, dict(CARD, payee_account="6222 0000"))["payee_account"] == "6222 0000"


def test_a_yes_or_no_and_a_rule_threshold_decide_too():
    review = form("homestead", "town_review")
    approved = {
        "town_approved": True,
        "departments": ["农业农村办"],
        "approval_no": "",
        "approved_area_m2": 120,
        "decided_on": "2026-03-01",
        "opinion": "",
    }
    assert list(refused_fields("town_review", review, approved)) == ["approval_no"]
    refusal = dict(approved, town_approved=False, approved_area_m2=0, opinion="超出面积标准")
    clean = validate_form("town_review", review, refusal)
    assert "approval_no" not in clean and clean["opinion"] == "超出面积标准"
    assert list(refused_fields("town_review", review, dict(refusal, opinion=""))) == ["opinion"]
    # 8万元 reaches the rule's 四议两公开 threshold: the resolution must be cited; 800元 need not.
    large = dict(CASH, amount_fen=8_000_000)
    assert "决议台账" in refused_fields("voucher", VOUCHER_FORM, large)["resolution_ref"]


def test_the_matters_earlier_steps_decide_too():
    disclose = form("four_deliberations", "disclose_resolution")
    required = forms.required_when(disclose)["supervision_response"][0]
    assert "earlier" in required
    objected = {"earlier": {"supervision_decision": "object"}}
    assert forms.required_now(disclose, {"supervision_response": ""}, objected) == {"supervision_response": True}
    assert forms.required_now(disclose, {}, {"earlier": {}}) == {"supervision_response": False}


def test_every_error_comes_at_once():
    bad = dict(CARD, purpose="灯", witness_name=CARD["handler_name"], spent_on="昨天")
    refused = refused_fields("voucher", VOUCHER_FORM, bad)
    assert set(refused) == {"payee_account", "purpose", "spent_on", "witness_name"}
    assert refused["witness_name"] == "证明人不能是经办人本人"  # the legal check with the field errors
    shown = forms.live_check(VOUCHER_FORM, bad)
    assert set(shown.fields) == {"payee_account", "purpose", "spent_on"}
    assert asdict(shown.summary) == {"passed": 0, "total": 1, "state": "fail"}  # 0/1 is not green
    assert forms.live_check(VOUCHER_FORM, CASH).summary.state == "ok"


def test_a_bad_condition_is_refused_naming_the_field():
    base = {"type": "object", "properties": {"kind": {"type": "string"}, "note": {"type": "string"}}}
    assert forms.declaration_problems({**base, "x-required-when": {"note": 'kind == "x"'}}) == []
    cases = {
        "note": "kind ==",  # not an expression
        "nothing": "kind",  # no such field
    }
    for name, text in cases.items():
        [(code, message)] = forms.declaration_problems({**base, "x-required-when": {name: text}})
        assert f"x-required-when.{name}" in message and code in ("bad-expression", "form-invalid")
    [(code, message)] = forms.declaration_problems({**base, "x-required-when": {"note": "amount > 5"}})
    assert code == "bad-expression" and "x-required-when.note" in message and "amount" in message
    [(code, message)] = forms.declaration_problems({**base, "x-required-when": {"note": "__import__('os')"}})
    assert "x-required-when.note" in message
    [(_, message)] = forms.declaration_problems({**base, "x-prefill": {"note": "village"}})
    assert "x-prefill.note" in message
    for path in sorted((ROOT / "processes").glob("*/forms/*.json")):
        assert forms.declaration_problems(json.loads(path.read_text(encoding="utf-8"))) == [], path


def test_the_first_step_carries_the_title_typed_at_start():
    spec = forms.form_spec(form("four_deliberations", "propose"))
    assert forms.prefill_values(spec, {"title": "修缮村道"}) == {"matter_title": "修缮村道"}


def test_which_checks_may_be_waived_is_validated_rule_data(tmp_path: Path, monkeypatch):
    rules = waivers.rules()
    assert waivers.validate({"waivers": rules}) == []
    assert not waivers.waiver("four_deliberations", "present").waivable
    assert "第二十二条" in (waivers.waiver("four_deliberations", "present").basis or "")
    assert waivers.waiver("fund_payment", "witness_name").waivable
    broken = waivers.merge(
        {"waivers": rules}, {"waivers": {"flows": {"fund_payment": {"witness_name": {"waivable": False}}}}}
    )
    [problem] = waivers.validate(broken)
    assert "witness_name" in problem and "basis" in problem
    # A county's rule folder changes only what it names.
    (tmp_path / "waivers.yaml").write_text(
        "waivers:\n  flows:\n    fund_payment:\n      witness_name: {waivable: false, basis: 本县财务制度}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(tmp_path))
    waivers.reset()
    try:
        assert waivers.waiver("fund_payment", "witness_name") == waivers.Waiver(False, "本县财务制度")
        assert waivers.waiver("seal_use", "witness_name").waivable
    finally:
        monkeypatch.delenv("POWERLIST_RULES_DIR")
        waivers.reset()


# --- the same verdict on the page, the API and the command line ------------------------------


@pytest.fixture
def fund(demo_world):  # noqa: F811
    from engine.workspace import tokens

    with demo_world() as session, session.begin():
        api.deploy_file(session, FUND)
        return tokens.create(session, CADRE, "test", None)


def new_voucher(demo_world) -> tuple[int, str]:  # noqa: F811
    with demo_world() as session, session.begin():
        instance_id = api.start(session, "fund_payment", "QX0101", CADRE, {}, "路灯维修").instance_id
    (voucher,) = open_steps(demo_world, instance_id)
    return instance_id, voucher.id


def stored_voucher(demo_world, instance_id: int) -> dict:  # noqa: F811
    with demo_world() as session:
        event = session.scalars(
            select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.step_id == "voucher")
        ).first()
    return json.loads(event.data)["form"]


def web_form(data: dict) -> dict:
    return {k: f"{v / 100:.2f}" if k == "amount_fen" else str(v) for k, v in data.items()}


def test_the_page_the_api_and_the_command_line_agree(demo_world, fund, client, auth, cli, tmp_path):  # noqa: F811
    invoice = tmp_path / "发票.pdf"
    invoice.write_bytes(PDF)
    bearer = {"Authorization": f"Bearer {fund}"}

    # The page: refused next to 收款账号 when paid by card, accepted when paid in cash.
    auth.login(CADRE, PASSWORD)
    page_matter, task = new_voucher(demo_world)
    sent = dict(web_form(CARD), idempotency_key="cond-web-0001", file_invoice=(io.BytesIO(PDF), "发票.pdf"))
    refused = client.post(f"/tasks/{task}", data=sent, content_type="multipart/form-data")
    assert refused.status_code == 400
    text = refused.data.decode()
    assert 'data-error-for="payee_account" >转账或村务卡支付的须填写收款账号' in " ".join(text.split())
    sent = dict(web_form(CASH), idempotency_key="cond-web-0002", file_invoice=(io.BytesIO(PDF), "发票.pdf"))
    assert client.post(f"/tasks/{task}", data=sent, content_type="multipart/form-data").status_code == 302

    # The API.
    api_matter, task = new_voucher(demo_world)
    refused = client.post(f"/api/v1/tasks/{task}/complete", headers=bearer, json={"data": CARD})
    assert refused.status_code == 400
    assert [f["field"] for f in refused.get_json()["error"]["fields"]] == ["payee_account", "invoice"]
    upload = client.post(
        "/api/v1/attachments",
        headers=bearer,
        data={"file": [(io.BytesIO(PDF), "发票.pdf")]},
        content_type="multipart/form-data",
    ).get_json()[0]
    done = client.post(
        f"/api/v1/tasks/{task}/complete",
        headers=bearer,
        json={"data": CASH, "attachments": {"invoice": [upload["id"]]}},
    )
    assert done.status_code == 200, done.get_json()

    # The command line.
    cli_matter, task = new_voucher(demo_world)
    attach = ("--attach", f"invoice={invoice}")
    refused = cli("complete", task, "--as", CADRE, "--data", json.dumps(CARD, ensure_ascii=False), *attach)
    assert refused.code == 1 and "payee_account" in refused.err and "收款账号" in refused.err
    done = cli("complete", task, "--as", CADRE, "--data", json.dumps(CASH, ensure_ascii=False), *attach)
    assert done.code == 0, done.err

    for instance_id in (page_matter, api_matter, cli_matter):
        stored = stored_voucher(demo_world, instance_id)
        assert stored["payment_method"] == "cash" and "payee_account" not in stored and "resolution_ref" not in stored


def test_validating_a_flow_refuses_a_bad_condition_naming_its_field():
    from lxml import etree

    from engine.definitions.forms import read_form

    task = etree.fromstring('<userTask id="voucher" name="填写支出凭证"/>')
    form = {
        "type": "object",
        "properties": {"kind": {"type": "string"}, "note": {"type": "string"}},
        "x-required-when": {"note": "kind == "},
    }
    _, problems = read_form(json.dumps(form).encode(), "forms/voucher.json", task)
    assert [(p.code, p.element_id) for p in problems] == [("bad-expression", "voucher")]
    assert "x-required-when.note" in problems[0].message
