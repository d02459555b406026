"""The matter summary card on the task pages: a fund payment as the 村监会 and the 镇三资中心 see it
(amount, payee, purpose, the invoice's thumbnail, the earlier opinions with names and offices);
the reason a returned or a transferred step came back, in the inbox and on its page; 加签 offers only
people who could do the step, none chosen for you; people named by name and office, offices
without a doubled level. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import api
from engine.persistence.models import OpenTask, User
from engine.workspace import attachments, labels, operations, people
from engine.workspace import tokens as api_tokens
from tests.conftest import ROOT
from tests.support.files import PNG, required_files
from tests.web.conftest import PASSWORD

FUND = ROOT / "processes" / "fund_payment" / "fund_payment.bpmn"
CADRE, CHAIR, SUPERVISOR = "shangtang.cadre", "shangtang.chair", "shangtang.supervisor"
BOOKKEEPER, AGENCY = "shangtang.bookkeeper", "dongxi.agency"
SECOND_SUPERVISOR = "shangtang.wuxia"  # a second 村监会 member, who may take the review or approve it too
VOUCHER = {
    "amount_fen": 80000,
    "payee": "清溪五金店",
    "payee_account": "6222000011112222",
    "purpose": "村道路灯维修材料费",
    "expense_category": "non_productive",
    "voucher_kind": "invoice",
    "spent_on": "2026-11-20",
    "payment_method": "village_card",
    "handler_name": "赵干部",
    "witness_name": "钱干部",
    "resolution_ref": "",
}
SIGNOFF = {
    "signoff_approved": True,
    "signer_name": "孙主任",
    "signed_on": "2026-11-21",
    "opinion": "票据齐全同意支付",
}
REVIEW = {
    "supervisory_approved": True,
    "reviewers": ["王监委", "周监委", "吴监委"],
    "reviewed_on": "2026-11-22",
    "seal_applied": True,
    "opinion": "监委会集体审核同意",
}
SUBMIT = {"submitted_on": "2026-11-23", "bookkeeper_name": "冯报账员", "voucher_count": 3, "note": "首次报账"}
RETURN_REASON = "缺少审批单原件，请补正后重新报账"
TRANSFER_REASON = "本人是收款方亲属，请吴霞审核"


@pytest.fixture
def payment(demo_org, app):
    """A fund payment in 上塘村 waiting for the 村监会's review, its invoice a photo; returns a helper."""
    from engine.workspace import people as admin_people

    with demo_org() as session, session.begin():
        api.deploy_file(session, FUND, "admin")
        second = admin_people.add_user(session, None, SECOND_SUPERVISOR, "吴霞", PASSWORD)
        second.must_change_password = False  # signs in straight to the desk
        admin_people.grant_role(session, None, SECOND_SUPERVISOR, "supervisory_member", "QX0101")
        outcome = api.start(session, "fund_payment", "QX0101", CADRE, {}, "路灯维修材料费")
    folder = Path(app.config["ATTACHMENTS_FOLDER"])

    class Payment:
        instance = outcome.instance_id
        sessions = demo_org

        def task(self) -> OpenTask:
            with demo_org() as session:
                return session.scalars(select(OpenTask).where(OpenTask.instance_id == self.instance)).one()

        def complete(self, actor: str, data: dict, **files: bytes) -> None:
            row = self.task()
            with demo_org() as session, session.begin():
                chosen = required_files(session, row.id, actor, folder)
                for slot, content in files.items():
                    chosen[slot] = [attachments.store_upload(session, folder, content, "invoice.png", actor).id]
                api.complete(session, row.id, actor, data, chosen)

        def display_name(self, username: str) -> str:
            with demo_org() as session:
                return session.scalar(select(User.display_name).where(User.username == username))

    found = Payment()
    found.complete(CADRE, VOUCHER, invoice=PNG)
    found.complete(CHAIR, SIGNOFF)
    return found


def _login(client, username: str) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302


def _card(html: str) -> str:
    found = re.search(r'<details class="card summary-card".*?</details>', html, re.S)
    assert found, "no summary card on the page"
    return found.group(0)


def _visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_the_committee_and_the_town_agency_see_what_they_approve(client, payment):
    review = payment.task()
    assert review.step_id == "supervisory_review"
    _login(client, SUPERVISOR)
    card = _card(client.get(f"/tasks/{review.id}").get_data(as_text=True))
    assert "800.00" in card and "支出金额" in card
    assert "清溪五金店" in card and "收款方" in card
    assert "村道路灯维修材料费" in card
    thumbs = re.findall(r'<img class="thumb" src="([^"]+)"', card)
    assert len(thumbs) == 1 and f"/matters/{payment.instance}/attachments/" in thumbs[0]
    assert client.get(thumbs[0]).headers["Content-Type"] == "image/png"  # the invoice photo itself
    assert "票据齐全同意支付" in card and "村主任审核签字" in card
    assert payment.display_name(CHAIR) in card and CHAIR not in _visible_text(card)

    payment.complete(SUPERVISOR, REVIEW)
    payment.complete(BOOKKEEPER, SUBMIT)
    audit = payment.task()
    assert audit.step_id == "town_audit"
    _login(client, AGENCY)
    card = _card(client.get(f"/tasks/{audit.id}").get_data(as_text=True))
    assert "800.00" in card and "清溪五金店" in card and "村道路灯维修材料费" in card
    assert "票据齐全同意支付" in card and "监委会集体审核同意" in card
    assert card.index("票据齐全同意支付") < card.index("监委会集体审核同意")  # in the order given
    text = _visible_text(card)
    assert payment.display_name(SUPERVISOR) in text and SUPERVISOR not in text

    with payment.sessions() as session, session.begin():
        token = api_tokens.create(session, AGENCY, "test", None)
    answer = client.get(f"/api/v1/tasks/{audit.id}", headers={"Authorization": f"Bearer {token}"}).get_json()
    summary = answer["summary"]
    assert summary["amounts"] == [
        {"field": "amount_fen", "label": "支出金额", "fen": 80000, "yuan": "800.00", "step_name": "填报支出凭证"}
    ]
    assert {"label": "收款方", "text": "清溪五金店"} in summary["parties"]
    assert [a["kind"] for a in summary["attachments"]].count("image") == 1
    by_step = {o["step"]: o for o in summary["opinions"]}
    assert by_step["supervisory_review"]["by"]["username"] == SUPERVISOR
    assert by_step["supervisory_review"]["by"]["office"] == "上塘村务监督委员会成员"
    assert summary["reason"] is None


def test_a_returned_step_says_so_with_its_reason(client, payment):
    payment.complete(SUPERVISOR, REVIEW)
    payment.complete(BOOKKEEPER, SUBMIT)
    audit = payment.task()
    with payment.sessions() as session, session.begin():
        operations.return_to(session, audit.id, AGENCY, "bookkeeper_submit", RETURN_REASON)
    again = payment.task()
    assert again.step_id == "bookkeeper_submit"
    _login(client, BOOKKEEPER)
    desk = client.get("/desk").get_data(as_text=True)
    card = desk[desk.index(f"/tasks/{again.id}") :]
    card = card[: card.index("</li>")]
    assert "被退回" in card and RETURN_REASON in card
    page = client.get(f"/tasks/{again.id}").get_data(as_text=True)
    banner = re.search(r'<div class="flash error reason-banner".*?</div>', page, re.S)
    assert banner and RETURN_REASON in banner.group(0) and "镇三资中心审核" in banner.group(0)
    assert payment.display_name(AGENCY) in banner.group(0) and AGENCY not in _visible_text(banner.group(0))
    # A step reached the ordinary way carries no badge.
    _login(client, SUPERVISOR)
    assert "被退回" not in client.get("/desk").get_data(as_text=True)


def test_a_transferred_step_says_why_and_names_people_not_usernames(client, payment):
    review = payment.task()
    _login(client, SUPERVISOR)
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    transfer = page[page.index('name="to"') : page.index("</select>", page.index('name="to"'))]
    assert "吴霞（上塘村务监督委员会成员）" in transfer and SECOND_SUPERVISOR not in _visible_text(transfer)
    response = client.post(f"/tasks/{review.id}/transfer", data={"to": SECOND_SUPERVISOR, "reason": TRANSFER_REASON})
    assert response.status_code == 302
    matter = client.get(f"/matters/{payment.instance}").get_data(as_text=True)
    assert "转给 吴霞（上塘村务监督委员会成员）" in matter and f"转给 {SECOND_SUPERVISOR}" not in matter

    _login(client, SECOND_SUPERVISOR)
    desk = client.get("/desk").get_data(as_text=True)
    assert "转办" in desk and TRANSFER_REASON in desk
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    banner = re.search(r'<div class="flash info reason-banner".*?</div>', page, re.S)
    assert banner and TRANSFER_REASON in banner.group(0)
    assert payment.display_name(SUPERVISOR) in banner.group(0)


def test_added_approvers_are_those_who_could_do_the_step_and_none_is_chosen(client, payment):
    review = payment.task()
    with payment.sessions() as session:
        from engine.workspace import matter_detail

        view = matter_detail.task(session, SUPERVISOR, review.id)
    offered = [c["username"] for c in view["approver_candidates"]]
    assert SECOND_SUPERVISOR in offered
    for nobody in ("admin", "county.auditor", CADRE, CHAIR, BOOKKEEPER, "shangtang.secretary", AGENCY, SUPERVISOR):
        assert nobody not in offered
    offices = [c["office"] for c in view["approver_candidates"]]
    assert offices == sorted(offices)
    _login(client, SUPERVISOR)
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    select_html = page[page.index('name="approver"') : page.index("</select>", page.index('name="approver"'))]
    options = re.findall(r"<option([^>]*)>([^<]*)</option>", select_html)
    assert options[0][0].strip().startswith('value=""') and "disabled" in options[0][0]
    assert all("selected" not in attrs for attrs, _label in options[1:])
    shown = [label for _attrs, label in options[1:]]
    assert "吴霞（上塘村务监督委员会成员）" in shown  # name and office, never the username
    assert all(label.endswith("（上塘村务监督委员会成员）") for label in shown)


def test_offices_do_not_double_their_level(payment):
    assert labels.office("东溪镇", "town_discipline") == "东溪镇纪委"
    assert labels.office("上塘村", "cadre") == "上塘村干部"
    assert labels.office("清溪县", "county_discipline") == "清溪县纪委"
    assert labels.office("东溪镇", "town_civil_affairs") == "东溪镇民政办"
    assert labels.office("东溪镇", "town_agency") == "东溪镇三资中心"
    assert labels.office("上塘村", "committee_chair") == "上塘村委会主任"
    with payment.sessions() as session:
        from engine.workspace.access import profile

        assert profile(session, "dongxi.discipline").role_names == ["东溪镇纪委"]
        assert profile(session, CADRE).role_names == ["上塘村干部"]
        found = people.persons(session, ["dongxi.discipline", CADRE, "county.discipline"])
        actors = people.persons(session, ["public", "system"])
    assert {p.office for p in found.values()} == {"东溪镇纪委", "上塘村干部", "清溪县纪委"}
    # A villager's report and the supervision rules are named for what they are, not by an account name.
    assert (actors["public"].label, actors["system"].label) == ("村民（码上举报）", "系统（监督规则）")
