"""三务公开 in the engine: the calendar as rule data, content generated from the record with a digest,
prepare → 村监会 review → post, revisions after a return, who may do what, and the on-time check of the
sweep (once per village, kind and period; not before the due day; due days moved off days off)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from engine.calendar import CST
from tests.conftest import DATABASES, fresh_database
from tests.support.world import demo_county, new_database

VILLAGE = "QX0101"  # 上塘村
CADRE = "shangtang.cadre"
SECRETARY = "shangtang.secretary"
SUPERVISOR = "shangtang.supervisor"
OTHER_CADRE = "lingtou.cadre"  # 岭头村, another town
TOWN_DISCIPLINE = "dongxi.discipline"


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), CST)


@pytest.fixture(scope="module", params=DATABASES)
def disclosure_world(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("disclosures")
    with fresh_database(request.param, folder) as url:
        engine, sessions = new_database(url)
        demo_county(sessions)
        yield engine, sessions
        engine.dispose()


@pytest.fixture
def frozen():
    from engine import clock

    def set_to(when: datetime) -> None:
        clock.clock.set(when)

    yield set_to
    clock.clock.set(None)


def test_due_days_come_from_the_rules_and_move_off_days_off():
    from engine.public import disclosures

    rules = disclosures.calendar_rules()
    # 2026-03-15 is a Sunday: February's finance is due on Monday the 16th.
    assert disclosures.period(rules, "finance", "2026-02").due == date(2026, 3, 16)
    assert disclosures.period(rules, "village_affairs", "2026Q3").due == date(2026, 10, 20)
    assert disclosures.period(rules, "party_affairs", "2026Q1").due == date(2026, 4, 20)
    # 党务公开 rests on the party's own rules; the Organic Law's article 30 is about village affairs only.
    party = rules.kinds["party_affairs"].legal_basis
    assert "党务公开条例" in party and "组织法" not in party


def test_a_county_overrides_the_due_day(tmp_path, monkeypatch):
    from engine.public import disclosures
    from engine.ruleset import AreaRulesInvalid

    (tmp_path / "disclosures.yaml").write_text(
        "disclosures:\n  kinds:\n    village_affairs:\n      due: {day: 10, on_day_off: keep}\n", encoding="utf-8"
    )
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(tmp_path))
    rules = disclosures.calendar_rules()
    assert disclosures.period(rules, "village_affairs", "2026Q3").due == date(2026, 10, 10)  # a Saturday, kept
    assert disclosures.period(rules, "finance", "2026-02").due == date(2026, 3, 16)  # unchanged
    (tmp_path / "disclosures.yaml").write_text(
        "disclosures:\n  kinds:\n    finance:\n      every: week\n", encoding="utf-8"
    )
    with pytest.raises(AreaRulesInvalid) as caught:
        disclosures.calendar_rules()
    assert "disclosures.yaml: disclosures.kinds.finance.every" in str(caught.value)


def test_prepare_review_post_with_digest_frozen_and_revisions(disclosure_world, frozen):
    from engine.errors import InvalidState
    from engine.persistence.models import AuditLog, OrgUnit
    from engine.public import disclosures
    from engine.public.disclosure_models import Disclosure

    engine, sessions = disclosure_world
    frozen(at(date(2026, 10, 12)))
    with sessions() as session, session.begin():
        first = disclosures.prepare(session, CADRE, VILLAGE, "village_affairs", "2026Q3", note="电话 138 0013 8000")
        digest = first.digest
        with pytest.raises(InvalidState) as early:  # the quarter under way is disclosed once it has ended
            disclosures.prepare(session, CADRE, VILLAGE, "village_affairs", "2026Q4")
        assert early.value.code == "disclosure.not_ended"
        assert "138" not in (first.note or "")
        assert first.content["period"] == "2026Q3" and first.content["power_list"] is not None
    with sessions() as session, session.begin():
        again = disclosures.prepare(session, CADRE, VILLAGE, "village_affairs", "2026Q3", note="电话 138 0013 8000")
        assert (again.revision, again.digest) == (1, digest)  # the same record, the same content and digest
        disclosures.review(
            session, SUPERVISOR, VILLAGE, "village_affairs", "2026Q3", revision=1, approve=False, reason="缺少决议"
        )
    with sessions() as session, session.begin():
        second = disclosures.prepare(session, SECRETARY, VILLAGE, "village_affairs", "2026Q3")
        assert second.revision == 2
        disclosures.review(session, SUPERVISOR, VILLAGE, "village_affairs", "2026Q3", revision=2, approve=True)
    frozen(at(date(2026, 10, 26)))  # after the due day (the 20th)
    with sessions() as session, session.begin():
        with pytest.raises(InvalidState) as caught:
            disclosures.prepare(session, CADRE, VILLAGE, "village_affairs", "2026Q3")
        assert caught.value.code == "disclosure.frozen"
    with sessions() as session, session.begin():
        posted = disclosures.post(session, CADRE, VILLAGE, "village_affairs", "2026Q3", places=["村务公开栏"])
        assert posted.posted_on == "2026-10-26" and disclosures.late_days(posted) == 6
        assert posted.digest == disclosures.digest_of(posted.content) == digest
    with sessions() as session:
        rows = session.scalars(select(Disclosure).where(Disclosure.period == "2026Q3").order_by(Disclosure.revision))
        assert [(r.revision, r.status) for r in rows] == [(1, "returned"), (2, "posted")]
        assert (
            session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action.like("disclosure.%"))) == 6
        )
        revisions = disclosures.revisions_of(session, "county.auditor", VILLAGE, "village_affairs", "2026Q3")
        assert [r.review_note for r in revisions] == ["缺少决议", None]
        shown = disclosures.public_page(session, session.get(OrgUnit, posted.village_id), date(2026, 10, 27))
        row = next(p for p in shown.periods if p.period == "2026Q3" and p.kind == "village_affairs")
        assert (row.late_days, row.digest, row.posted_on) == (6, digest, "2026-10-26")
        unposted = next(p for p in shown.periods if p.period == "2026Q3" and p.kind == "party_affairs")
        assert unposted.content is None and unposted.digest is None and unposted.overdue


def test_the_committee_signs_the_revision_it_read_and_not_its_own(disclosure_world, frozen):
    from engine.errors import InvalidState
    from engine.org.service import ensure_user, get_village, grant
    from engine.public import disclosures

    _engine, sessions = disclosure_world
    frozen(at(date(2026, 9, 3)))
    with sessions() as session, session.begin():
        both = ensure_user(session, "shangtang.both", "两个岗位的人")
        village = get_village(session, VILLAGE)
        grant(session, both, "supervisory_member", village)
        grant(session, both, "cadre", village)
        read = disclosures.prepare(session, CADRE, VILLAGE, "finance", "2026-08", note="本月无大额支出").revision
    with sessions() as session, session.begin():  # the committee reads revision `read`; then the cadre changes it
        changed = disclosures.prepare(session, CADRE, VILLAGE, "finance", "2026-08", note="另有一笔修路款")
        assert changed.revision == read + 1
    with sessions() as session, session.begin():
        with pytest.raises(InvalidState) as stale:
            disclosures.review(session, SUPERVISOR, VILLAGE, "finance", "2026-08", revision=read, approve=True)
        assert stale.value.code == "disclosure.changed" and stale.value.params["revision"] == read + 1
    with sessions() as session, session.begin():  # who prepared a revision may not sign it, nor return it
        mine = disclosures.prepare(session, "shangtang.both", VILLAGE, "finance", "2026-08", note="我改的")
        for approve in (True, False):
            with pytest.raises(InvalidState) as own:
                disclosures.review(
                    session, "shangtang.both", VILLAGE, "finance", "2026-08", revision=mine.revision,
                    approve=approve, reason="自己退回",
                )  # fmt: skip
            assert own.value.code == "disclosure.own_preparation"
        signed = disclosures.review(
            session, SUPERVISOR, VILLAGE, "finance", "2026-08", revision=mine.revision, approve=True
        )
        assert (signed.status, signed.note) == ("approved", "我改的")


@pytest.mark.parametrize(
    ("actor", "action", "code"),
    [
        (CADRE, "review", "permission_denied"),  # a cadre cannot review
        (SUPERVISOR, "post", "permission_denied"),  # a committee member cannot post
        (SUPERVISOR, "prepare", "permission_denied"),
        (TOWN_DISCIPLINE, "review", "permission_denied"),  # the town is not the village's 村监会
        (OTHER_CADRE, "prepare", "not_found"),  # another village's cadre sees nothing
    ],
)
def test_who_may_do_what(disclosure_world, frozen, actor, action, code):
    from engine.errors import NotFound, PermissionDenied
    from engine.public import disclosures

    _engine, sessions = disclosure_world
    frozen(at(date(2026, 11, 5)))
    with sessions() as session, session.begin():
        with pytest.raises((NotFound, PermissionDenied)) as caught:
            if action == "review":
                disclosures.review(session, actor, VILLAGE, "finance", "2026-10", revision=1, approve=True)
            elif action == "post":
                disclosures.post(session, actor, VILLAGE, "finance", "2026-10")
            else:
                disclosures.prepare(session, actor, VILLAGE, "finance", "2026-10")
        assert caught.value.code.startswith(code) or type(caught.value).__name__ == (
            "NotFound" if code == "not_found" else "PermissionDenied"
        )


def test_the_sweep_raises_late_once_and_not_before_the_due_day(disclosure_world, frozen):
    from engine.persistence.models import OrgUnit
    from engine.public import disclosures
    from engine.supervision.models import Violation
    from engine.supervision.sweep import sweep

    engine, sessions = disclosure_world
    frozen(at(date(2026, 2, 3)))
    with sessions() as session, session.begin():  # 下塘村 starts the county's calendar with January's finance
        disclosures.prepare(session, "xiatang.cadre", "QX0102", "finance", "2026-01")
        villages = dict(session.execute(select(OrgUnit.code, OrgUnit.id).where(OrgUnit.level == "village")).all())

    def late(period: str = "2026-01") -> dict[str, Violation]:
        with sessions() as session:
            rows = session.scalars(
                select(Violation).where(Violation.code == "disclosure_late", Violation.dedup_key.like(f"%:{period}"))
            )
            return {v.dedup_key: v for v in rows}

    # Due on the 15th, a Sunday in the Spring Festival holiday (2026-02-15 … 23): moved to the next
    # working day, Tuesday the 24th; not late on the due day itself, late from the day after.
    assert disclosures.period(disclosures.calendar_rules(), "finance", "2026-01").due == date(2026, 2, 24)
    sweep(engine, now=at(date(2026, 2, 16)))
    sweep(engine, now=at(date(2026, 2, 24), 23))
    assert late() == {}
    sweep(engine, now=at(date(2026, 2, 25), 1))
    sweep(engine, now=at(date(2026, 2, 26)))
    # Once each; and every village of the county from the period the county started with, also the
    # villages that never prepared anything (上塘村 here): not preparing is no way out of the check.
    found = late()
    assert set(found) == {f"disclosure_late:{vid}:finance:2026-01" for vid in villages.values()}
    violation = found[f"disclosure_late:{villages['QX0102']}:finance:2026-01"]
    assert (violation.severity, violation.points) == ("yellow", 2)
    assert "第三十条" in violation.legal_basis and "至今未公开" in violation.message
    assert {v.responsible_role for v in found.values()} == {"committee_chair"}
    assert late("2025-12") == {}  # before the county started: not checked


def test_late_party_affairs_are_the_party_secretarys(disclosure_world, frozen):
    from engine.public import disclosures

    engine, sessions = disclosure_world
    frozen(at(date(2026, 2, 3)))
    with sessions() as session, session.begin():  # 岭头村 starts late, with the quarter now due
        disclosures.prepare(session, "lingtou.cadre", "QX0201", "party_affairs", "2025Q4")
    with sessions() as session:
        found = disclosures.late_findings(session, at(date(2026, 2, 3)))
    party = [f for f in found if f.evidence[0]["kind"] == "party_affairs"]
    assert {f.evidence[0]["period"] for f in party} == {"2025Q4"} and len(party) == 4
    assert {f.responsible_role for f in party} == {"party_secretary"}
    assert all("党务公开条例" in f.evidence[0]["legal_basis"] for f in party)


def test_the_command_line_prepares_reviews_posts_and_refuses(cli, demo_org):
    env = {"POWERLIST_NOW": "2026-11-03T10:00:00+08:00", "POWERLIST_ALLOW_SIMULATED_TIME": "1"}
    period = ["finance", "2026-10", "--village", VILLAGE]
    assert cli("disclosures", "prepare", *period, "--as", CADRE, env=env, check=True).out.startswith("prepared")
    signing = [*period, "--revision", "1", "--approve"]
    assert cli("disclosures", "review", *signing, "--as", CADRE, env=env).code == 1  # not the 村监会
    assert cli("disclosures", "prepare", *period, "--as", OTHER_CADRE, env=env).code == 1  # another village
    stale = cli("disclosures", "review", *period, "--revision", "2", "--approve", "--as", SUPERVISOR, env=env)
    assert stale.code == 1 and "第 2 版" in stale.err + stale.out  # not the revision there is
    cli("disclosures", "review", *signing, "--as", SUPERVISOR, env=env, check=True)
    assert cli("disclosures", "post", *period, "--as", SUPERVISOR, env=env).code == 1  # the 村监会 does not post
    rows = cli("disclosures", "due", "--village", VILLAGE, "--as", SUPERVISOR, "--json", env=env, check=True).json()
    october = next(r for r in rows if r["kind"] == "finance" and r["period"] == "2026-10")
    assert (october["status"], october["revision"], october["due_on"]) == ("approved", 1, "2026-11-16")


def test_half_yearly_reports_villagers_see_are_the_reviewed_ones_once_per_half_year(disclosure_world, frozen):
    from engine import api, queries
    from engine.persistence.models import Matter, OrgUnit
    from engine.public import disclosures
    from tests.conftest import ROOT

    _engine, sessions = disclosure_world
    draft = {"half_year": "2026H1", "meeting_date": "2026-07-03", "report_summary": "上半年办理四议两公开事项3件"}
    agreed = {"review_result": "agreed", "reviewer_name": "王监委", "reviewed_on": "2026-07-06"}

    def report(half: str, summary: str, *, reviewed: bool) -> int:
        with sessions() as session, session.begin():
            instance = api.start(session, "semiannual_report", VILLAGE, "shangtang.chair", None).instance_id
            for step, data, actor in (
                ("draft_report", {**draft, "half_year": half, "report_summary": summary}, "shangtang.chair"),
                *([("supervise_report", agreed, SUPERVISOR)] if reviewed else []),
            ):
                task = next(t for t in queries.open_tasks(session) if t.instance == instance)
                assert task.step == step
                api.complete(session, task.id, actor, data)
            return instance

    frozen(at(date(2026, 7, 3)))
    with sessions() as session, session.begin():
        api.deploy_file(session, ROOT / "processes/semiannual_report/semiannual_report.bpmn", "admin")
    report("2026H1", "第一次报告：上半年办理事项3件", reviewed=True)
    frozen(at(date(2026, 7, 4)))
    report("2026H1", "再次报告：上半年办理事项4件", reviewed=True)  # the same half year again: the newer one is shown
    frozen(at(date(2026, 7, 5)))
    report("2026H1", "村监会还没看过的报告稿子草稿", reviewed=False)
    cancelled = report("2025H2", "已经终止了的下半年报告稿", reviewed=True)
    with sessions() as session, session.begin():
        session.get(Matter, cancelled).status = "cancelled"
    with sessions() as session:
        village = session.scalar(select(OrgUnit).where(OrgUnit.code == VILLAGE))
        shown = disclosures.semiannual_reports(session, village)
    assert [(r.half, r.summary) for r in shown] == [("2026H1", "再次报告：上半年办理事项4件")]
