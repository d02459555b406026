"""四议两公开: the 村务监督委员会 signs both disclosures in steps of its own.

The old flow let the 村委会主任 type "监督人/监督意见" into his own disclosure forms. Now the 村监会
reviews and signs each disclosure (《村民委员会组织法》第三十二条: the supervisory body watches over
village-affairs disclosure); nobody else can do its steps, the work cannot start before it has
signed, and an objection sends the disclosure back to the 村委会 to be corrected, answered and
posted again. The resolution no longer carries a typed number (the register numbers it) and records
the amount the meeting passed. Driven through the engine by the demo users, like the example paths.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine import queries
from engine.definitions.validate import load_definition_file
from engine.errors import PermissionDenied
from engine.workspace import operations
from tests.processes.driver import StepDriver, refused_on
from tests.processes.test_flow_paths import (
    FLOWS,
    Library,
    actor,
    examples,
    library,  # noqa: F401  (the module's database fixture)
    open_tasks,
)

KEY = "four_deliberations"
VILLAGE = "QX0101"
CHAIR = actor("committee_chair", VILLAGE)
SECRETARY = actor("party_secretary", VILLAGE)
SUPERVISOR = actor("supervisory_member", VILLAGE)
SUPERVISORY_LAW = "第三十二条"
BEFORE_IMPLEMENT = ("propose", "discuss", "review", "resolve", "disclose_resolution")
TO_RESULT = (*BEFORE_IMPLEMENT, "supervise_resolution", "implement", "disclose_result")


def happy(step: str) -> dict:
    """The lawful data of ``step`` on the example path ``happy``."""
    return dict(next(s.data for s in examples(KEY)["happy"].steps if s.step == step))


class Matter(StepDriver):
    """One four_deliberations matter of the demo village, done step by step."""

    def __init__(self, lib: Library):
        super().__init__(lib, KEY, "party_secretary", "村道硬化工程", VILLAGE)

    def lawful(self, step: str) -> dict:
        return happy(step)

    def through(self, *steps: str) -> Matter:
        for step in steps:
            self.done(step)
        return self


@pytest.fixture
def matter(library: Library) -> Iterator[Matter]:  # noqa: F811
    yield Matter(library)


def test_the_supervisory_committee_has_its_own_steps_after_each_disclosure():
    definition = load_definition_file(FLOWS[KEY]).definition
    for step_id in ("supervise_resolution", "supervise_result"):
        step = definition.step(step_id)
        assert step.role == "supervisory_member" and step.time_limit
        assert SUPERVISORY_LAW in step.legal_basis and "《中华人民共和国村民委员会组织法》" in step.legal_basis
        # it signs or objects: it cannot end the matter or send it anywhere else
        assert not step.allows("reject") and not step.allows("return") and step.allows("transfer")


def test_the_chair_cannot_sign_for_the_supervisory_committee(matter):
    matter.through(*BEFORE_IMPLEMENT)
    task = matter.task()
    assert (task.step_id, task.role) == ("supervise_resolution", "supervisory_member")  # not yet 实施
    matter.denied("supervise_resolution", CHAIR)
    matter.denied("supervise_resolution", SECRETARY)
    # the lawful twin: the village's 村监会 member signs, and only then does the work start
    matter.done("supervise_resolution", by=SUPERVISOR)
    assert matter.task().step_id == "implement"


def test_the_chair_cannot_sign_the_result_disclosure_either(matter):
    matter.through(*TO_RESULT)
    assert matter.task().step_id == "supervise_result"
    matter.denied("supervise_result", CHAIR)
    matter.done("supervise_result", by=SUPERVISOR)
    assert open_tasks(matter.lib.sessions, matter.id) == [] and matter.status() == "completed"


def test_the_chair_cannot_write_the_supervisory_opinion_into_his_own_disclosure(matter):
    matter.through("propose", "discuss", "review", "resolve")
    typed = {**happy("disclose_resolution"), "supervisor_name": "王监委", "supervisory_opinion": "程序合规"}
    errors = matter.refused("disclose_resolution", typed)
    assert refused_on(errors, "supervisor_name", "没有") and refused_on(errors, "supervisory_opinion", "没有"), errors


def test_an_objection_sends_the_disclosure_back_to_be_corrected_and_answered(matter):
    matter.through(*BEFORE_IMPLEMENT)
    objection = {**happy("supervise_resolution"), "supervision_decision": "object"}
    errors = matter.refused("supervise_resolution", {**objection, "supervisory_opinion": "不行"})
    assert refused_on(errors, "supervisory_opinion", "写明理由", SUPERVISORY_LAW), errors
    matter.done("supervise_resolution", {**objection, "supervisory_opinion": "公开内容未列投资金额，请补全"})
    assert matter.task().step_id == "disclose_resolution"
    errors = matter.refused("disclose_resolution", happy("disclose_resolution"))
    assert refused_on(errors, "supervision_response", "提出了异议"), errors
    matter.done("disclose_resolution", {**happy("disclose_resolution"), "supervision_response": "已补全，重新公开"})
    assert matter.task().step_id == "supervise_resolution"
    matter.done("supervise_resolution")
    assert matter.task().step_id == "implement"


def test_the_committee_signs_only_after_the_posting_period(matter):
    matter.through(*BEFORE_IMPLEMENT)
    early = {**happy("supervise_resolution"), "supervised_on": "2025-03-19"}  # posted until 20 March
    assert refused_on(matter.refused("supervise_resolution", early), "supervised_on", "公开期满后")


def test_the_committee_cannot_reject_or_return_the_matter(matter):
    matter.through(*BEFORE_IMPLEMENT)
    task = matter.task()
    with pytest.raises(PermissionDenied) as refused:
        with matter.lib.sessions() as session, session.begin():
            operations.reject(session, task.id, SUPERVISOR, "不同意实施")
    assert refused.value.code == "step.operation_not_allowed"
    with pytest.raises(PermissionDenied):
        with matter.lib.sessions() as session, session.begin():
            operations.return_to(session, task.id, SUPERVISOR, "resolve", "重新表决")
    assert matter.task().id == task.id


def test_the_resolution_is_numbered_by_the_system_and_records_its_amount(matter):
    matter.through("propose", "discuss", "review")
    typed_number = {**happy("resolve"), "resolution_no": "2099-假-01"}
    assert refused_on(matter.refused("resolve", typed_number), "resolution_no", "没有")
    no_amount = {k: v for k, v in happy("resolve").items() if k != "approved_amount_fen"}
    assert any(f == "approved_amount_fen" for f, _ in matter.refused("resolve", no_amount))
    matter.done("resolve")
    with matter.lib.sessions() as session:
        history = queries.history(session, matter.id)
    resolved = [e for e in history if e.kind == "task_completed" and e.step == "resolve"]
    assert resolved and resolved[-1].data["form"]["approved_amount_fen"] == 30_000_000
