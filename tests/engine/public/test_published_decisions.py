"""决议公开 and 结果公开 on the village's page: what a 四议两公开 matter publishes, and when.

The old flow recorded a posting on the notice board but put no resolution or result text on the
village's page. Now the texts appear once the disclosure step is completed, with only the fields
``rules/defaults/published.yaml`` names (free text masked), the result under its resolution.
Driven through the engine by the demo users, on one database for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from engine.errors import NotFound
from engine.ruleset import AreaRulesInvalid
from tests.conftest import ROOT
from tests.support import files

KEY = "four_deliberations"
FLOWS = ("four_deliberations", "subsistence_aid", "homestead", "seal_use")  # the flows these pages need
VILLAGE = "QX0101"
ID_NUMBER = "330225198001011234"
PHONE = "138 0013 8000"


@dataclass
class Library:
    sessions: sessionmaker


def happy(step: str) -> dict:
    """The lawful data of ``step`` on the flow's example path ``happy``."""
    from engine.catalog.examples import examples_path, load_examples

    flow = ROOT / "processes" / KEY / f"{KEY}.bpmn"
    path = next(p for p in load_examples(examples_path(flow)) if p.name == "happy")
    return dict(next(s.data for s in path.steps if s.step == step))


class DrivenMatter:
    """A 四议两公开 matter of the demo village, each step done by the demo holder of its role."""

    def __init__(self, lib: Library, title: str = "村道硬化工程"):
        from engine import api

        self.lib, self.title = lib, title
        with lib.sessions() as session, session.begin():
            self.id = api.start(session, KEY, VILLAGE, "shangtang.secretary", {}, title).instance_id

    def lawful(self, step: str) -> dict:
        data = happy(step)
        if step == "propose":  # personal data in fields the rules do not publish
            data["matter_title"] = self.title
            data["proposer_name"] = f"张书记 {PHONE}"
        if step == "resolve":
            data["recorder_name"] = f"李会计 {ID_NUMBER}"
            data["resolution_content"] = f"同意实施{self.title}，联系人电话{PHONE}。"
        return data

    def done(self, step: str) -> DrivenMatter:
        from engine.persistence.models import OpenTask, RoleAssignment, User

        with self.lib.sessions() as session, session.begin():
            task = session.scalar(select(OpenTask).where(OpenTask.instance_id == self.id))
            assert task is not None and task.step_id == step, (task and task.step_id, step)
            holder = session.scalar(
                select(User.username)
                .join(RoleAssignment, RoleAssignment.user_id == User.id)
                .where(RoleAssignment.role == task.role, RoleAssignment.org_unit_id == task.org_unit_id)
                .order_by(User.username)
            )
            files.complete(session, task.id, holder, self.lawful(step), every_slot=True)
        return self


def village_id(lib: Library) -> int:
    from engine.org.service import get_village

    with lib.sessions() as session:
        return get_village(session, VILLAGE).id


def published(lib: Library, **kwargs) -> list[dict]:
    from engine.public import decisions

    with lib.sessions() as session:
        return decisions.published(session, village_id(lib), **kwargs)


def mine(lib: Library, matter: DrivenMatter) -> list[dict]:
    from engine.persistence.models import HistoryEvent
    from engine.public.decisions import slug_of

    with lib.sessions() as session:
        first = session.query(HistoryEvent.hash).filter_by(instance_id=matter.id, seq=1).scalar()
    return [e for e in published(lib) if e.slug == slug_of(first)]


def county(url: str) -> Library:
    """The demo organisation on a new database at ``url`` with :data:`FLOWS` deployed (and so shown
    to villagers: the shipped files carry their category and number)."""
    from engine import api
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.persistence.migrate import upgrade
    from powerlist.demo import load_demo

    engine = make_engine(url)
    upgrade(engine)
    lib = Library(make_sessionmaker(engine))
    with lib.sessions() as session, session.begin():
        load_demo(session, deploy_flows=False)
        for key in FLOWS:
            api.deploy_file(session, ROOT / "processes" / key / f"{key}.bpmn", "admin")
    return lib


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Iterator[Library]:
    lib = county(f"sqlite:///{tmp_path_factory.mktemp('published') / 'powerlist.sqlite'}")
    yield lib
    lib.sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def done(library: Library) -> DrivenMatter:
    """One matter through both disclosures, and one stopped before its resolution is posted."""
    matter = DrivenMatter(library)
    for step in ("propose", "discuss", "review", "resolve"):
        matter.done(step)
    library.before_posting = mine(library, matter)
    matter.done("disclose_resolution")
    library.after_resolution = mine(library, matter)
    for step in ("supervise_resolution", "implement", "disclose_result"):
        matter.done(step)
    return matter


def test_the_resolution_appears_once_posted_and_the_result_under_it(library, done):
    assert library.before_posting == []  # a running matter's resolution is not published before its posting
    (posted,) = library.after_resolution
    assert posted.kind == "resolution" and posted.result is None
    (entry,) = mine(library, done)
    assert entry.title == "村道硬化工程" and entry.kind_label == "决议公开"
    assert entry.number  # the decision register's number
    assert entry.votes == {"members": 40, "present": 30, "votes_for": 20, "votes_against": 8, "abstain": 2}
    assert entry.amount_fen == 30000000
    assert entry.posting["start"] == "2025-03-17" and entry.posting["end"] == "2025-03-20"
    labels = {f["label"]: f.get("text", f.get("amount_fen")) for f in entry.fields}
    assert labels["会议类型"] == "村民代表会议" and labels["会议日期"] == "2025-03-16"
    assert labels["决议内容"] == "同意实施村道硬化工程，联系人电话***。"
    assert "第三十条" in entry.basis
    result = entry.result
    assert result.kind == "result" and result.amount_fen == 29500000
    texts = {f["label"]: f.get("text") for f in result.fields}
    assert texts["实施情况"] == "已完成道路硬化1.2公里，验收合格。" and texts["群众评议"] == "满意"


def test_fields_the_rules_do_not_publish_never_appear(library, done):
    text = repr(published(library))
    for hidden in (ID_NUMBER, "138 0013 8000", "13800138000", "张书记", "李会计", "孙主任", "王监委"):
        assert hidden not in text, hidden


def test_dates_filter_and_other_villages_see_nothing(library, done):
    from engine.org.service import get_village
    from engine.public import decisions

    assert mine(library, done)
    entry = mine(library, done)[0]
    assert entry in published(library, first=date(2025, 3, 1), last=date(2025, 3, 31))
    assert entry not in published(library, first=date(2025, 4, 1), last=date(2025, 6, 30))
    assert entry in published(library, first=date(2025, 7, 1), last=date(2025, 7, 31))  # its result's month
    with library.sessions() as session:
        other = get_village(session, "QX0201").id
        assert entry.slug not in {e.slug for e in decisions.published(session, other)}
        page = decisions.matter_page(session, village_id(library), entry.slug)
        assert page.entries[0].title == "村道硬化工程"
        with pytest.raises(NotFound):
            decisions.matter_page(session, other, entry.slug)


def test_the_rule_file_decides_and_a_county_can_override_it(library, done, tmp_path, monkeypatch):
    (tmp_path / "published.yaml").write_text(
        "published:\n  flows:\n    four_deliberations:\n"
        "      disclose_resolution:\n        fields: [resolve.recorder_name, resolve.resolution_content]\n"
        "      disclose_result: {kind: none}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(tmp_path))
    (entry,) = mine(library, done)
    assert [f["label"] for f in entry.fields] == ["记录人", "决议内容"]
    # a name the matter holds, and a number, are masked even where a county publishes the field
    assert entry.fields[0]["text"] == "李*计 ***"
    assert entry.result is None
    (tmp_path / "published.yaml").write_text(
        "published:\n  flows:\n    four_deliberations:\n      disclose_result: {kind: verdict, fields: [oops]}\n",
        encoding="utf-8",
    )
    with pytest.raises(AreaRulesInvalid) as invalid:
        published(library)
    problems = "; ".join(invalid.value.problems)
    assert "published.flows.four_deliberations.disclose_result.kind" in problems
    assert "published.yaml" in problems and "fields" in problems


def test_every_item_has_a_plain_page_written_or_made_from_its_steps(library, monkeypatch):
    import re

    from engine.catalog.catalog import SHIPPED
    from engine.public import items

    for path in SHIPPED.glob("*/villagers.yaml"):  # the shipped texts speak of the flow's own steps
        bpmn = (path.parent / f"{path.parent.name}.bpmn").read_text(encoding="utf-8")
        steps = set(re.findall(r'<bpmn:userTask id="([^"]+)"', bpmn))
        written = {s["step"] for s in items.villager_text(path.parent.name)["steps"]}
        assert written <= steps, (path, written - steps)
    with library.sessions() as session:
        page = items.item_page(session, "subsistence_aid")
        assert page.written and page.bring and page.svg.startswith("<svg")
        town_survey = next(s for s in page.steps if s.id == "town_survey")
        assert town_survey.limit == "10个工作日" and town_survey.working_days
        monkeypatch.setattr(items, "villager_text", lambda key: {})  # an uploaded flow: no text written
        made = items.item_page(session, "four_deliberations")
        assert not made.written and made.purpose  # the flow's own documentation
        assert [s.name for s in made.steps][:4] == ["提议", "商议", "审议", "决议"]
        assert all(s.who and s.limit for s in made.steps)
        assert "组织法" in made.basis


def test_a_name_the_matter_knows_is_masked_where_its_posting_text_repeats_it() -> None:
    """The applicant's name is a field of the matter; the posting text that repeats it shows it masked."""
    from engine.public.decisions import _Matter, _shown

    matter = _Matter(instance=None, slug="x", forms={1: ("accept_application", {"applicant_name": "张三丰"})})
    shown = _shown({"type": "string"}, "公示张三丰家庭的低保申请，电话 13912345678", False, matter.known_names())
    assert shown == {"text": "公示张*丰家庭的低保申请，电话 ***"}
