"""Separation of duties through the web: the admin grant page, the API and the command line give the
same refusal, because they all call the one command."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import ROOT
from tests.engine.supervision.flows import FUND_PAYMENT
from tests.support import files
from tests.web.conftest import ADMIN, CHAIR

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
FUND = ROOT / "processes" / "fund_payment" / "fund_payment.bpmn"


def _roles(demo_world, username: str) -> set[tuple[str, str]]:
    from engine.persistence.models import User

    with demo_world() as session:
        user = session.scalar(select(User).where(User.username == username))
        return {(a.role, a.org_unit.code) for a in user.roles}


def test_the_admin_grant_page_refuses_incompatible_roles(client, auth, demo_world, cli):
    auth.login(ADMIN)
    refused = client.post(
        f"/admin/users/{CHAIR}/roles", data={"role": "supervisory_member", "unit": "QX0101"}, follow_redirects=True
    )
    page = refused.data.decode()
    assert "不能同时担任" in page and "第三十二条" in page
    assert ("supervisory_member", "QX0101") not in _roles(demo_world, CHAIR)
    # The command line says the same.
    said = cli("user", "grant", CHAIR, "supervisory_member", "QX0101")
    assert said.code == 1 and "不能同时担任" in said.err and "第三十二条" in said.err
    # Adding a user with a role then granting a clashing one: refused too.
    client.post(
        "/admin/users", data={"username": "zhao.qi", "display_name": "赵七", "role": "bookkeeper", "unit": "QX0101"}
    )
    assert ("bookkeeper", "QX0101") in _roles(demo_world, "zhao.qi")
    client.post("/admin/users/zhao.qi/roles", data={"role": "committee_chair", "unit": "QX0101"})
    assert ("committee_chair", "QX0101") not in _roles(demo_world, "zhao.qi")
    # The lawful twin: another village.
    granted = client.post(f"/admin/users/{CHAIR}/roles", data={"role": "supervisory_member", "unit": "QX0102"})
    assert granted.status_code == 302
    assert ("supervisory_member", "QX0102") in _roles(demo_world, CHAIR)


def test_the_api_refuses_a_second_incompatible_step_with_its_code(client, demo_world):
    from engine import api
    from engine.org.service import get_unit, grant
    from engine.persistence.models import OpenTask, User
    from engine.workspace import tokens

    with demo_world() as session, session.begin():
        api.deploy_file(session, FUND, ADMIN)
        chair = session.scalar(select(User).where(User.username == CHAIR))
        grant(session, chair, "supervisory_member", get_unit(session, "QX0101"))  # a holding older than the rule
        token = tokens.create(session, CHAIR, "test", None)
        matter = api.start(session, "fund_payment", "QX0101", "shangtang.cadre").instance_id

    def open_task(step: str) -> str:
        with demo_world() as session:
            return session.scalar(select(OpenTask.id).where(OpenTask.instance_id == matter, OpenTask.step_id == step))

    for step, actor in (("voucher", "shangtang.cadre"), ("finance_signoff", CHAIR)):
        with demo_world() as session, session.begin():
            files.complete(session, open_task(step), actor, FUND_PAYMENT[step])
    task = open_task("supervisory_review")
    answer = client.post(
        f"/api/v1/tasks/{task}/complete",
        headers={"Authorization": f"Bearer {token}"},
        json={"data": FUND_PAYMENT["supervisory_review"]},
    )
    assert answer.status_code == 403, answer.get_json()
    error = answer.get_json()["error"]
    assert error["code"] == "task.incompatible_duty"
    assert open_task("supervisory_review") == task
