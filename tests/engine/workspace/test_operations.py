"""The approval operations (驳回 退回 转办 撤回 抄送 催办 加签) on both databases: what they do to the
matter, who may use them, and that the history stays a verifiable chain."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import pytest

from engine import api
from engine.errors import Conflict, InvalidState, NotFound, PermissionDenied, PowerlistError
from engine.workspace import idempotency, inbox, matter_detail, operations, people
from tests.web.conftest import SECRETARY

PROPOSE = {
    "matter_title": "村道硬化工程",
    "proposal_source": "cadre_proposal",
    "matter_content": "硬化村道两公里，方便村民出行",
    "estimated_amount_fen": 8000000,
    "proposed_on": "2026-01-05",
    "proposer_name": "张三",
    "dual_role": False,
}
DEPUTY = "shangtang.deputy"


def start(sessions) -> tuple[int, str]:
    with sessions() as session, session.begin():
        result = api.start(session, "four_deliberations", "QX0101", SECRETARY, {}, "村道硬化")
    return result.instance_id, result.opened[0]["id"]


def open_step(sessions, instance_id: int) -> inbox.TodoTask:
    with sessions() as session:
        return next(t for t in inbox.todo(session, SECRETARY) if t.instance == instance_id)


def run(sessions, operation, *args):
    with sessions() as session, session.begin():
        return operation(session, *args)


def kinds(sessions, instance_id: int) -> list[str]:
    with sessions() as session:
        return [e.kind for e in matter_detail.matter(session, SECRETARY, instance_id).timeline]


# One 四议两公开 matter of 上塘村 taken through the operations in turn: each test brings it to the
# point its operation starts from (the stages below) and checks that operation.


@dataclass(frozen=True)
class DrivenMatter:
    instance_id: int
    task_id: str  # its first 提议 step
    plan: int  # the attachment proposed with it


def proposed(sessions) -> DrivenMatter:
    """The matter past its 提议 (with a plan attached), and a deputy secretary of 上塘村."""
    with sessions() as session, session.begin():
        people.add_user(session, None, DEPUTY, "上塘村副书记", "deputy-password")
        people.grant_role(session, None, DEPUTY, "party_secretary", "QX0101")
    instance_id, task_id = start(sessions)

    from engine.workspace import attachments as files
    from tests.web.conftest import png_bytes

    with sessions() as session, session.begin():
        plan = files.store_upload(session, None, png_bytes(), "方案.png", SECRETARY).id
    run(sessions, operations.complete, task_id, SECRETARY, PROPOSE, {"proposal": [plan]})
    return DrivenMatter(instance_id, task_id, plan)


def withdrawn(sessions) -> tuple[DrivenMatter, inbox.TodoTask]:
    """The matter withdrawn from 商议 and proposed again; its open 商议 step."""
    matter = proposed(sessions)
    run(sessions, operations.withdraw, matter.instance_id, SECRETARY, "金额填错了")
    step = open_step(sessions, matter.instance_id)
    run(sessions, operations.complete, step.id, SECRETARY, PROPOSE, {"proposal": [matter.plan]})
    return matter, open_step(sessions, matter.instance_id)


def returned(sessions) -> tuple[DrivenMatter, inbox.TodoTask]:
    """Then sent back from 商议 to 提议 and proposed again; its open 商议 step."""
    matter, discuss = withdrawn(sessions)
    run(sessions, operations.return_to, discuss.id, SECRETARY, "propose", "方案不完整")
    run(sessions, operations.complete, open_step(sessions, matter.instance_id).id, SECRETARY, PROPOSE)
    return matter, open_step(sessions, matter.instance_id)


def transferred(sessions) -> tuple[DrivenMatter, inbox.TodoTask]:
    """Then its 商议 transferred to the deputy secretary."""
    matter, discuss = returned(sessions)
    run(sessions, operations.transfer, discuss.id, SECRETARY, DEPUTY, "我出差，请副书记办理")
    return matter, discuss


def reminded_and_copied(sessions) -> tuple[DrivenMatter, inbox.TodoTask]:
    """Then the deputy reminded by the chair, and the matter copied to the supervisors."""
    matter, discuss = transferred(sessions)
    run(sessions, operations.remind, discuss.id, "shangtang.chair", "请尽快召开两委会")
    supervisors = ["shangtang.supervisor", "dongxi.discipline"]
    run(sessions, operations.copy, matter.instance_id, SECRETARY, supervisors, "请监督")
    return matter, discuss


def test_withdraw_opens_the_step_again_with_what_was_entered(demo_world):
    matter = proposed(demo_world)
    instance_id, task_id, plan = matter.instance_id, matter.task_id, matter.plan
    assert open_step(demo_world, instance_id).step == "discuss"
    with demo_world() as session:
        assert operations.withdrawable(session, instance_id, SECRETARY) == "step"
        assert operations.withdrawable(session, instance_id, DEPUTY) is None
    with pytest.raises(PowerlistError, match="撤回理由"):
        run(demo_world, operations.withdraw, instance_id, SECRETARY, "错")
    run(demo_world, operations.withdraw, instance_id, SECRETARY, "金额填错了")
    step = open_step(demo_world, instance_id)
    assert step.step == "propose"
    assert step.id != task_id  # the step opens anew
    with demo_world() as session:
        view = matter_detail.task(session, SECRETARY, step.id)
        assert view.previous["matter_title"] == "村道硬化工程"
        assert [a.id for a in view.kept_attachments] == [plan]


def test_return_sends_the_matter_back_to_a_step_already_done(demo_world):
    matter, discuss = withdrawn(demo_world)
    instance_id = matter.instance_id
    with demo_world() as session:
        assert [s["step"] for s in operations.returnable_steps(session, discuss.id)] == ["propose"]
    with pytest.raises(InvalidState):
        run(demo_world, operations.return_to, discuss.id, SECRETARY, "review", "还没到这一步")
    run(demo_world, operations.return_to, discuss.id, SECRETARY, "propose", "方案不完整")
    step = open_step(demo_world, instance_id)
    assert step.step == "propose"


def test_transfer_hands_the_step_to_another_holder_of_its_role(demo_world):
    matter, discuss = returned(demo_world)
    instance_id = matter.instance_id
    with pytest.raises(PermissionDenied):
        run(demo_world, operations.transfer, discuss.id, SECRETARY, "shangtang.chair", "主任来办")
    run(demo_world, operations.transfer, discuss.id, SECRETARY, DEPUTY, "我出差，请副书记办理")
    with demo_world() as session:
        assert all(t.instance != instance_id for t in inbox.todo(session, SECRETARY))
        assert [t.step for t in inbox.todo(session, DEPUTY) if t.instance == instance_id] == ["discuss"]
    with pytest.raises(PermissionDenied, match="已转给"):
        run(demo_world, operations.reject, discuss.id, SECRETARY, "不同意这个方案")


def test_remind_once_and_only_by_someone_who_sees_the_matter(demo_world):
    _matter, discuss = transferred(demo_world)
    run(demo_world, operations.remind, discuss.id, "shangtang.chair", "请尽快召开两委会")
    with pytest.raises(InvalidState):
        run(demo_world, operations.remind, discuss.id, "shangtang.chair", "再催一次")
    with pytest.raises(NotFound):
        run(demo_world, operations.remind, discuss.id, "lingtou.chair", None)
    with demo_world() as session:
        assert inbox.todo(session, DEPUTY)[0].reminders == 1


def test_copy_goes_only_to_people_who_may_see_the_matter(demo_world):
    matter, _discuss = transferred(demo_world)
    instance_id = matter.instance_id
    with pytest.raises(PermissionDenied):
        run(demo_world, operations.copy, instance_id, SECRETARY, ["lingtou.supervisor"], None)
    run(demo_world, operations.copy, instance_id, SECRETARY, ["shangtang.supervisor", "dongxi.discipline"], "请监督")
    with demo_world() as session:
        assert inbox.counts(session, "shangtang.supervisor")["copies"] == 1


def test_reject_cancels_the_matter_and_its_history_stays_a_verifiable_chain(demo_world):
    matter, discuss = reminded_and_copied(demo_world)
    instance_id = matter.instance_id
    run(demo_world, operations.reject, discuss.id, DEPUTY, "方案不符合村规划")
    with demo_world() as session:
        view = matter_detail.matter(session, SECRETARY, instance_id)
        assert view.status == "cancelled" and not view.open_tasks
        assert api.verify_history(session, instance_id).ok
    assert kinds(demo_world, instance_id)[-2:] == ["task_rejected", "instance_cancelled"]
    assert {"task_withdrawn", "task_returned", "task_transferred", "task_reminded", "matter_copied"} <= set(
        kinds(demo_world, instance_id)
    )
    with pytest.raises(InvalidState):
        run(demo_world, operations.withdraw, instance_id, SECRETARY, "想撤回已终止的事项")


def test_the_initiator_withdraws_a_matter_nobody_acted_on(demo_world):
    instance_id, _task = start(demo_world)
    with pytest.raises(InvalidState):
        run(demo_world, operations.withdraw, instance_id, "shangtang.chair", "不是我发起的")
    run(demo_world, operations.withdraw, instance_id, SECRETARY, "发起错了事项")
    with demo_world() as session:
        assert matter_detail.matter(session, SECRETARY, instance_id).status == "cancelled"


def test_added_approvals_before_and_after(demo_world):
    instance_id, task_id = start(demo_world)
    run(demo_world, operations.add_approver, task_id, SECRETARY, "dongxi.agency", "before", "请镇三资中心先把关")
    with pytest.raises(InvalidState, match="加签人"):
        run(demo_world, operations.complete, task_id, SECRETARY, PROPOSE)
    with demo_world() as session:
        approval = inbox.approvals(session, "dongxi.agency")[0]
    with pytest.raises(NotFound):
        run(demo_world, operations.decide, approval.id, "shangtang.chair", True, None)
    with pytest.raises(PowerlistError, match="意见"):
        run(demo_world, operations.decide, approval.id, "dongxi.agency", False, "")
    run(demo_world, operations.decide, approval.id, "dongxi.agency", True, "可以")
    run(demo_world, operations.complete, task_id, SECRETARY, PROPOSE)

    discuss = open_step(demo_world, instance_id)
    run(demo_world, operations.add_approver, discuss.id, SECRETARY, "shangtang.supervisor", "after", "请监委会确认")
    meeting = {
        "plan_summary": "硬化村道两公里，预算八万元",
        "meeting_date": "2026-01-08",
        "meeting_place": "村委会议室",
        "chair_name": "张三",
        "recorder_name": "李四",
        "members": 7,
        "present": 7,
        "votes_for": 6,
        "votes_against": 1,
        "abstain": 0,
        "passed": True,
    }
    with demo_world() as session:
        schema = matter_detail.task(session, SECRETARY, discuss.id).schema
    meeting = {k: v for k, v in meeting.items() if k in schema["properties"]}
    required_slots = [a["name"] for a in schema.get("x-attachments", []) if a.get("required")]
    from engine.workspace import attachments as files
    from tests.web.conftest import png_bytes

    with demo_world() as session, session.begin():
        ids = {
            slot: [files.store_upload(session, None, png_bytes(), f"{slot}.png", SECRETARY).id]
            for slot in required_slots
        }
    parked = run(demo_world, operations.complete, discuss.id, SECRETARY, meeting, ids)
    assert parked.parked and open_step(demo_world, instance_id).step == "discuss"
    with demo_world() as session:
        approval = inbox.approvals(session, "shangtang.supervisor")[0]
        assert approval.ready
    run(demo_world, operations.decide, approval.id, "shangtang.supervisor", False, "票数与签到表不符")
    assert open_step(demo_world, instance_id).step == "discuss"
    # Declined: the holder corrects and submits again, with the files already attached.
    outcome = run(demo_world, operations.complete, discuss.id, SECRETARY, meeting, ids)
    assert not outcome.parked and [o["step"] for o in outcome.opened] == ["review"]
    with demo_world() as session:
        assert api.verify_history(session, instance_id).ok
        events = matter_detail.matter(session, SECRETARY, instance_id).timeline
    done = [e for e in events if e.kind == "task_completed" and e.step == "discuss"][0]
    assert {a["name"] for a in done.attachments} == set(required_slots)
    assert all(len(a["sha256"]) == 64 for a in done.attachments)

    # 后加签 agreed: the waiting submission completes the step, in the holder's name.
    review = open_step(demo_world, instance_id)
    run(demo_world, operations.add_approver, review.id, SECRETARY, "dongxi.discipline", "after", "请镇纪委复核表决")
    with demo_world() as session:
        schema = matter_detail.task(session, SECRETARY, review.id).schema
        ids = {
            a["name"]: [files.store_upload(session, None, png_bytes(), "x.png", SECRETARY).id]
            for a in schema["x-attachments"]
        }
        session.commit()
    answers = dict(meeting, notice_date="2026-01-02", opinions="同意")
    answers = {k: v for k, v in answers.items() if k in schema["properties"]}
    assert run(demo_world, operations.complete, review.id, SECRETARY, answers, ids).parked
    with demo_world() as session:
        approval = inbox.approvals(session, "dongxi.discipline")[0]
    outcome = run(demo_world, operations.decide, approval.id, "dongxi.discipline", True, "表决有效")
    assert [o["step"] for o in outcome.opened] == ["resolve"]
    with demo_world() as session:
        timeline = matter_detail.matter(session, SECRETARY, instance_id).timeline
        assert api.verify_history(session, instance_id).ok
    reviewed = [e for e in timeline if e.kind == "task_completed" and e.step == "review"][0]
    assert reviewed.actor == SECRETARY
    kinds_seen = [e.kind for e in timeline]
    assert kinds_seen.index("approver_decided") < len(kinds_seen) - 1


def test_a_retried_submission_acts_once(demo_world):
    instance_id, task_id = start(demo_world)
    barrier = threading.Barrier(3)
    outcomes: list = []

    def attempt() -> None:
        barrier.wait()
        try:
            outcomes.append(
                run(demo_world, operations.complete, task_id, SECRETARY, PROPOSE, None, None, "retry-key-0001")
            )
        except (Conflict, InvalidState):
            with demo_world() as session:
                outcomes.append(idempotency.lookup(session, SECRETARY, "retry-key-0001"))

    threads = [threading.Thread(target=attempt) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 3 and all(o is not None for o in outcomes)
    again = run(demo_world, operations.complete, task_id, SECRETARY, PROPOSE, None, None, "retry-key-0001")
    assert again.repeated and again.instance_id == instance_id
    with demo_world() as session:
        timeline = matter_detail.matter(session, SECRETARY, instance_id).timeline
        completed = [e for e in timeline if e.kind == "task_completed"]
        assert len(completed) == 1
        assert json.loads(json.dumps(again.as_dict()))["instance"] == instance_id
