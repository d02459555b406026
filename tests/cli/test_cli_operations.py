"""The matter commands of the command line (reject, return, transfer, withdraw, copy, remind,
approver add, approval decide) through the real ``powerlist`` entry point, on SQLite and
PostgreSQL: what they do, their ``--json``, and their exit codes (0 done, 1 refused with nothing
written, 2 invalid input), never a traceback. Who may do what, for every kind of user and on every
adapter, is tests/web/test_action_matrix.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.conftest import MINI, ROOT
from tests.support.files import PDF

SECRETARY = "shangtang.secretary"
CHAIR = "shangtang.chair"
SECOND_CHAIR = "shangtang.chair2"
CADRE = "shangtang.cadre"
BOOKKEEPER = "shangtang.bookkeeper"
SUPERVISOR = "shangtang.supervisor"
REASON = "请按规定重新办理"
PROPOSE = {"subject": "修缮村道", "amount_fen": 500000}
RESOLVE = {"members": 5, "present": 5, "votes_for": 4, "votes_against": 1, "abstain": 0}
FOUR = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"


@dataclass
class Matter:
    instance: int
    task: str  # the open 决议 step (the chair's)


@pytest.fixture
def ready(cli, demo_org):
    """The demo organisation, the mini flow, and a second chair in 上塘村 to hand steps to."""
    from engine import api
    from engine.org.service import ensure_user, get_unit, grant

    with demo_org() as session, session.begin():
        api.deploy_file(session, MINI, "admin")
        grant(
            session, ensure_user(session, SECOND_CHAIR, "上塘村副主任"), "committee_chair", get_unit(session, "QX0101")
        )
    return demo_org


def at_resolve(sessions) -> Matter:
    from engine.workspace import operations

    with sessions() as session, session.begin():
        started = operations.start(session, "mini_decision", "QX0101", SECRETARY, {}, "修缮村道")
    with sessions() as session, session.begin():
        done = operations.complete(session, started.opened[0]["id"], SECRETARY, dict(PROPOSE))
    return Matter(started.instance_id, done.opened[0]["id"])


def state_of(sessions, instance_id: int) -> tuple:
    """The matter's history length, open steps, added approvals, reminders and copies."""
    from engine.persistence.models import HistoryEvent, Matter, OpenTask
    from engine.workspace.models import AddedApproval, MatterCopy, TaskReminder

    def count(model) -> int:
        return session.scalar(select(func.count()).select_from(model).where(model.instance_id == instance_id))

    with sessions() as session:
        return (
            session.get(Matter, instance_id).status,
            count(HistoryEvent),
            sorted(
                (t.step_id, t.assignee)
                for t in session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id))
            ),
            sorted(
                (a.approver, a.status)
                for a in session.scalars(select(AddedApproval).where(AddedApproval.instance_id == instance_id))
            ),
            count(TaskReminder),
            count(MatterCopy),
        )


def open_steps(sessions, instance_id: int) -> list[tuple[str, str]]:
    from engine.persistence.models import OpenTask

    with sessions() as session:
        return [(t.id, t.step_id) for t in session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id))]


def test_return_transfer_and_reject(ready, cli):
    matter = at_resolve(ready)
    returned = cli("return", matter.task, "--to", "propose", "--as", CHAIR, "--reason", REASON, "--json", check=True)
    answer = returned.json()
    assert answer["operation"] == "return" and answer["instance"] == matter.instance
    assert [t["step"] for t in answer["opened"]] == ["propose"]

    from engine.workspace import operations

    with ready() as session, session.begin():
        (propose,) = open_steps(ready, matter.instance)
        resolve = operations.complete(session, propose[0], SECRETARY, dict(PROPOSE)).opened[0]["id"]
    moved = cli("transfer", resolve, "--to", SECOND_CHAIR, "--as", CHAIR, "--reason", REASON, check=True)
    assert f"transferred to {SECOND_CHAIR}; matter {matter.instance} running" in moved.out

    before = state_of(ready, matter.instance)
    refused = cli("reject", resolve, "--as", CHAIR, "--reason", REASON)
    assert refused.code == 1 and SECOND_CHAIR in refused.err  # the step is theirs now
    assert state_of(ready, matter.instance) == before

    rejected = cli("reject", resolve, "--as", SECOND_CHAIR, "--reason", REASON, "--json", check=True).json()
    assert rejected["operation"] == "reject" and rejected["status"] == "cancelled"
    assert open_steps(ready, matter.instance) == []


def test_remind_copy_and_withdraw(ready, cli):
    from engine.workspace.models import MatterCopy

    matter = at_resolve(ready)
    reminded = cli("remind", matter.task, "--as", CADRE, "--note", "请尽快开会", "--json", check=True).json()
    assert reminded["operation"] == "remind"
    before = state_of(ready, matter.instance)
    again = cli("remind", matter.task, "--as", CADRE)
    assert again.code == 1 and "一小时" in again.err
    assert state_of(ready, matter.instance) == before

    copied = cli(
        *("copy", str(matter.instance), "--to", SUPERVISOR, "--to", "county.discipline"),
        *("--as", CHAIR, "--note", "请知悉", "--json"),
        check=True,
    ).json()
    assert copied["operation"] == "copy"
    with ready() as session:
        rows = session.scalars(select(MatterCopy).where(MatterCopy.instance_id == matter.instance)).all()
        assert sorted((r.recipient, r.sent_by, r.note) for r in rows) == [
            ("county.discipline", CHAIR, "请知悉"),
            (SUPERVISOR, CHAIR, "请知悉"),
        ]

    withdrawn = cli("withdraw", str(matter.instance), "--as", SECRETARY, "--reason", REASON, "--json", check=True)
    assert withdrawn.json()["operation"] == "withdraw"
    assert [step for _id, step in open_steps(ready, matter.instance)] == ["propose"]


def test_an_added_approval_from_request_to_decision(ready, cli):
    from engine.workspace import operations
    from engine.workspace.models import AddedApproval

    matter = at_resolve(ready)
    added = cli(
        *("approver", "add", matter.task, "--approver", BOOKKEEPER, "--position", "after"),
        *("--as", CHAIR, "--reason", "请报账员把关", "--json"),
        check=True,
    ).json()
    assert added["operation"] == "add_approver"
    with ready() as session, session.begin():
        assert operations.complete(session, matter.task, CHAIR, dict(RESOLVE)).parked
        approval = session.scalar(select(AddedApproval.id).where(AddedApproval.task_id == matter.task))

    before = state_of(ready, matter.instance)
    stranger = cli("approval", "decide", str(approval), "--as", CHAIR, "--agree")
    assert stranger.code == 1 and "error:" in stranger.err  # not theirs: it does not exist for them
    silent = cli("approval", "decide", str(approval), "--as", BOOKKEEPER, "--disagree")
    assert silent.code == 1 and "意见" in silent.err  # disagreeing needs a comment
    assert state_of(ready, matter.instance) == before

    agreed = cli("approval", "decide", str(approval), "--as", BOOKKEEPER, "--agree", "--comment", "同意", "--json")
    assert agreed.code == 0, agreed.err
    assert [t["step"] for t in agreed.json()["opened"]] == ["disclose"]
    assert state_of(ready, matter.instance)[3] == [(BOOKKEEPER, "approved")]


def test_refusals_exit_1_and_change_nothing(ready, cli):
    matter = at_resolve(ready)
    before = state_of(ready, matter.instance)
    hidden = cli("withdraw", str(matter.instance), "--as", "lingtou.secretary", "--reason", REASON)
    assert hidden.code == 1 and "没有这个事项" in hidden.err
    reader = cli("copy", str(matter.instance), "--to", SUPERVISOR, "--as", "county.auditor")
    assert reader.code == 1 and "county.auditor" in reader.err
    short = cli("reject", matter.task, "--as", CHAIR, "--reason", "不行")
    assert short.code == 1 and "理由" in short.err
    # --json changes what a done operation prints; a refusal is still one line on stderr.
    own = cli("remind", matter.task, "--as", CHAIR, "--json")
    assert own.code == 1 and own.out == "" and own.err.strip().count("\n") == 0 and "不用催办" in own.err
    assert state_of(ready, matter.instance) == before


def test_a_refused_completion_leaves_no_uploaded_file(cli, demo_org, tmp_path):
    from engine import api
    from engine.workspace import operations

    with demo_org() as session, session.begin():
        api.deploy_file(session, FOUR, "admin")
        task = operations.start(session, "four_deliberations", "QX0101", SECRETARY, {}, "村道硬化").opened[0]["id"]
    proposal = tmp_path / "方案.pdf"
    proposal.write_bytes(PDF)
    refused = cli("complete", task, "--as", CADRE, "--data", "{}", "--attach", f"proposal={proposal}")
    assert refused.code == 1 and "不能办理" in refused.err
    folder = cli.workdir / "instance" / "attachments"
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


TASK = "0b5c1b9e-6a5e-4a8a-9a57-8f5a2f7f0f21"
INVALID = {
    "malformed task id": ["reject", "not-a-task", "--as", CHAIR, "--reason", REASON],
    "no reason": ["reject", TASK, "--as", CHAIR],
    "return without --to": ["return", TASK, "--as", CHAIR, "--reason", REASON],
    "task id too long": ["transfer", TASK + "0", "--to", SECOND_CHAIR, "--as", CHAIR, "--reason", REASON],
    "matter id not a number": ["withdraw", "12x", "--as", SECRETARY, "--reason", REASON],
    "matter id zero": ["withdraw", "0", "--as", SECRETARY, "--reason", REASON],
    "copy to nobody": ["copy", "12", "--as", CHAIR],
    "nobody reminds": ["remind", TASK],
    "position sideways": ["approver", "add", TASK, "--position", "sideways", "--approver", BOOKKEEPER, "--as", CHAIR],
    "no approver": ["approver", "add", TASK, "--position", "before", "--as", CHAIR, "--reason", REASON],
    "neither agree nor disagree": ["approval", "decide", "7", "--as", BOOKKEEPER],
    "negative approval id": ["approval", "decide", "-7", "--as", BOOKKEEPER, "--agree"],
    "approval id too big": ["approval", "decide", "9" * 30, "--as", BOOKKEEPER, "--agree"],
}


@pytest.mark.parametrize("arguments", list(INVALID.values()), ids=list(INVALID))
def test_invalid_input_exits_2_before_touching_the_database(arguments):
    from powerlist.cli import main

    result = CliRunner().invoke(main, arguments, env={"POWERLIST_DATABASE_URL": "sqlite:////nonexistent/none.sqlite"})
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_invalid_input_through_the_entry_point(cli):
    result = cli("approver", "add", "no-such-task", "--approver", BOOKKEEPER, "--position", "before", "--as", CHAIR)
    assert result.code == 2 and "TASK" in result.err
