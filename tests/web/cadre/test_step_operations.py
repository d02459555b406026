"""Which operations a step allows is part of the flow (pl:operations): a statutory disclosure cannot be
rejected or sent back, and a violator cannot reject their own rectification, on any entry point."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import api
from engine.errors import PermissionDenied
from engine.persistence.models import OpenTask
from engine.workspace import operations
from tests.conftest import ROOT
from tests.support import files
from tests.support.matters import example, history_length, open_steps

ALLOWANCE = ROOT / "processes" / "lost_work_allowance" / "lost_work_allowance.bpmn"
RECTIFICATION = ROOT / "processes" / "rectification" / "rectification.bpmn"
CHAIR = "shangtang.chair"
SUPERVISOR = "shangtang.supervisor"


@pytest.fixture
def flows(demo_world):
    with demo_world() as session, session.begin():
        api.deploy_file(session, ALLOWANCE)
        api.deploy_file(session, RECTIFICATION)
    return demo_world


def to_disclosure(demo_world) -> tuple[int, OpenTask]:
    """A lost-work allowance matter at its statutory disclosure (公开误工补贴)."""
    path = example(ALLOWANCE, "filed_and_disclosed")
    with demo_world() as session, session.begin():
        instance_id = api.start(
            session, "lost_work_allowance", "QX0101", "shangtang.secretary", {}, "误工补贴"
        ).instance_id
    for step in path.steps[:-1]:
        (task,) = open_steps(demo_world, instance_id)
        assert task.step_id == step.step
        with demo_world() as session, session.begin():
            holder = _holder(session, task)
            files.complete(session, task.id, holder, step.data)
    (disclosure,) = open_steps(demo_world, instance_id)
    assert disclosure.step_id == "disclose_resolution"
    return instance_id, disclosure


def _holder(session, task: OpenTask) -> str:
    from engine.persistence.models import RoleAssignment, User

    return session.scalar(
        select(User.username)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == task.role, RoleAssignment.org_unit_id == task.org_unit_id)
        .order_by(User.username)
        .limit(1)
    )


def test_an_unknown_operation_is_refused_at_upload():
    bpmn = ALLOWANCE.read_text(encoding="utf-8").replace(
        'pl:operations="transfer add_approver remind withdraw"', 'pl:operations="transfer skip"'
    )
    forms = {f"forms/{p.name}": p.read_bytes() for p in (ALLOWANCE.parent / "forms").glob("*.json")}
    report = api.validate_upload(bpmn.encode(), "lost_work_allowance.bpmn", forms)
    assert [(p.code, p.element_id, "skip" in p.message) for p in report.problems] == [
        ("bad-operations", "disclose_resolution", True)
    ]


def test_a_statutory_disclosure_cannot_be_rejected_or_sent_back(flows):
    instance_id, disclosure = to_disclosure(flows)
    before = history_length(flows, instance_id)
    for run in (
        lambda s: operations.reject(s, disclosure.id, CHAIR, "已经办完，无需公开"),
        lambda s: operations.return_to(s, disclosure.id, CHAIR, "propose", "重新提议吧"),
    ):
        with pytest.raises(PermissionDenied) as refused:
            with flows() as session, session.begin():
                run(session)
        assert refused.value.code == "step.operation_not_allowed"
    assert history_length(flows, instance_id) == before
    assert [t.id for t in open_steps(flows, instance_id)] == [disclosure.id]


def test_the_disclosure_page_offers_no_reject_and_the_api_and_cli_refuse_it(flows, client, auth, cli):
    from engine.workspace import tokens

    instance_id, disclosure = to_disclosure(flows)
    before = history_length(flows, instance_id)
    auth.login(CHAIR)
    page = client.get(f"/tasks/{disclosure.id}").get_data(as_text=True)
    assert f"/tasks/{disclosure.id}/reject" not in page and "不能驳回或退回" in page
    assert client.post(f"/tasks/{disclosure.id}/reject", data={"reason": "已经办完，无需公开"}).status_code == 403
    with flows() as session, session.begin():
        token = tokens.create(session, CHAIR, "t", None)
    answer = client.post(
        f"/api/v1/tasks/{disclosure.id}/reject",
        headers={"Authorization": f"Bearer {token}"},
        json={"reason": "已经办完，无需公开"},
    )
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "step.operation_not_allowed"
    view = client.get(f"/api/v1/tasks/{disclosure.id}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert "reject" not in view["operations"] and "transfer" in view["operations"]
    result = cli("reject", disclosure.id, "--as", CHAIR, "--reason", "已经办完，无需公开")
    assert result.code == 1 and "不能" in result.err
    assert history_length(flows, instance_id) == before


def test_a_violator_cannot_reject_their_own_rectification(flows):
    path = example(RECTIFICATION, "chair_rectifies")
    with flows() as session, session.begin():
        instance_id = api.start(session, "rectification", "QX0101", SUPERVISOR, path.start).instance_id
    (submit,) = open_steps(flows, instance_id)
    assert submit.step_id == "submit_committee_chair"
    with pytest.raises(PermissionDenied) as refused:
        with flows() as session, session.begin():
            operations.reject(session, submit.id, CHAIR, "我没有违规，不整改")
    assert refused.value.code == "step.operation_not_allowed"
    assert [t.id for t in open_steps(flows, instance_id)] == [submit.id]
    # The lawful twin: a step that allows it can still be rejected by its holder.
    with flows() as session, session.begin():
        other = api.start(session, "lost_work_allowance", "QX0101", "shangtang.secretary", {}, "误工补贴").instance_id
    (propose,) = open_steps(flows, other)
    with flows() as session, session.begin():
        assert operations.reject(session, propose.id, "shangtang.secretary", "本月不再申报").status == "cancelled"


STATUTORY_DISCLOSURES = {
    "four_deliberations": ("disclose_resolution", "supervise_resolution", "disclose_result", "supervise_result"),
    "homestead": ("posting", "publish_result"),
    "subsistence_aid": ("posting", "publish_result"),
    "lost_work_allowance": ("disclose_resolution",),
    "asset_lease": ("publish_contract",),
    "rectification": ("submit_party_secretary", "submit_committee_chair", "submit_bookkeeper", "submit_cadre"),
}


@pytest.mark.parametrize("key", sorted(STATUTORY_DISCLOSURES))
def test_the_shipped_flows_forbid_ending_a_disclosure_or_a_rectification(key):
    from engine.definitions.validate import load_definition_file

    definition = load_definition_file(ROOT / "processes" / key / f"{key}.bpmn").definition
    for step_id in STATUTORY_DISCLOSURES[key]:
        step = definition.step(step_id)
        assert not step.allows("reject") and not step.allows("return"), f"{key}.{step_id}"
        assert step.allows("transfer"), f"{key}.{step_id}"
