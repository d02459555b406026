"""Working-day calendars: national holidays for every year with data, county overrides, a loud warning
for a year without data, reminders and red thresholds in the step's own calendar, China time in the CLI."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine import calendar as work
from engine.calendar import CST, WorkCalendar, load_work_calendar
from engine.persistence.models import AuditLog
from tests.support.world import T0

PROPOSE = {"subject": "修缮村道", "amount_fen": 1200000}
RESOLVE_DAYS = 5  # mini_decision: resolve has pl:timeLimit P5D, pl:calendar="working"


@pytest.fixture
def fresh_calendar(monkeypatch):
    load_work_calendar.cache_clear()
    yield monkeypatch
    load_work_calendar.cache_clear()


def test_national_holidays_and_adjusted_working_days_for_every_year_with_data(fresh_calendar):
    fresh_calendar.delenv("POWERLIST_RULES_DIR", raising=False)
    calendar = load_work_calendar()
    assert set(range(2004, 2027)) <= calendar.years
    assert not calendar.is_working(date(2025, 10, 1))  # 国庆节 2025
    assert calendar.is_working(date(2025, 9, 28))  # a Sunday worked (调休)
    assert not calendar.is_working(date(2024, 2, 12))  # 春节 2024, a Monday
    assert not calendar.is_working(date(2026, 10, 7)) and calendar.is_working(date(2026, 10, 10))


def test_a_countys_own_days_are_read_from_its_rules_folder(fresh_calendar, tmp_path):
    folder = tmp_path / "county" / "calendar"
    folder.mkdir(parents=True)
    (folder / "2026.yaml").write_text("year: 2026\nholidays: [2026-11-16]\nworkdays: [2026-11-15]\n", encoding="utf-8")
    fresh_calendar.setenv("POWERLIST_RULES_DIR", str(tmp_path / "county"))
    calendar = load_work_calendar()
    assert not calendar.is_working(date(2026, 11, 16)) and calendar.is_working(date(2026, 11, 15))
    assert not calendar.is_working(date(2026, 10, 1))  # the national ones still apply


def test_a_year_without_data_is_named_and_logged(caplog):
    calendar = WorkCalendar(years={2026})
    start = datetime(2026, 12, 28, 1, 0, tzinfo=UTC)
    with caplog.at_level(logging.WARNING, logger="engine.calendar"):
        due = calendar.add_working_days(start, 5)
    assert due.astimezone(CST).date() == date(2027, 1, 4)
    assert calendar.missing_years(start, due) == [2027]
    assert "no holiday calendar for 2027" in caplog.text


def _resolve_timers(driver, instance):
    resolve = driver.task(instance, "resolve")
    found = {t.kind: t for t in driver.timers(task_id=resolve.id)}
    return resolve, found


@pytest.mark.parametrize(
    "opened",
    [
        T0,  # Monday 2 November 2026: 80 % of the wall-clock time falls on Sunday 8 November
        datetime(2026, 9, 30, 1, 0, tzinfo=UTC),  # before the National Day week: on Sunday 11 October
    ],
)
def test_a_working_day_steps_blue_reminder_never_falls_on_a_day_off(world, now, opened):  # noqa: F811
    now(opened)
    instance = world.start("mini_decision")
    world.complete(instance, "propose", PROPOSE)
    _resolve, timers = _resolve_timers(world, instance)
    calendar = load_work_calendar()
    remind = timers["task_reminder"].due_at.replace(tzinfo=UTC).astimezone(CST)
    due = timers["task_due"].due_at.replace(tzinfo=UTC)
    assert calendar.is_working(remind.date()), remind
    assert opened < remind.astimezone(UTC) < due
    assert timers["task_due"].payload["calendar"] == "working"
    # The reminder fires on that working day and not before.
    world.sweep(remind.astimezone(UTC) - timedelta(minutes=1))
    assert world.violations(instance, "step_due_soon") == []
    world.sweep(remind.astimezone(UTC) + timedelta(minutes=1))
    assert len(world.violations(instance, "step_due_soon")) == 1


def test_a_working_day_steps_red_threshold_counts_working_days(world, now):  # noqa: F811
    now(datetime(2026, 9, 28, 1, 0, tzinfo=UTC))  # Monday 28 September 2026
    instance = world.start("mini_decision")
    world.complete(instance, "propose", PROPOSE)
    _resolve, timers = _resolve_timers(world, instance)
    due = timers["task_due"].due_at.replace(tzinfo=UTC)
    # Five working days: 29, 30 September, (1–7 October off), 8, 9 and Saturday 10 October (调休).
    assert due.astimezone(CST).date() == date(2026, 10, 10)
    world.sweep(due + timedelta(seconds=1))
    [red] = [t for t in world.timers(kind="task_red")]
    # red_after P3D counted in working days: 12, 13, 14 October (not Tuesday 13 October by the clock).
    assert red.due_at.replace(tzinfo=UTC).astimezone(CST).date() == date(2026, 10, 14)
    # The yellow warning unhandled for P7D moves up, counted in working days too: from Sunday 11
    # October, 12–16 and 19, 20 October (not Sunday 18 October by the clock).
    [escalation] = world.timers(kind="escalation")
    assert escalation.due_at.replace(tzinfo=UTC).astimezone(CST).date() == date(2026, 10, 20)


def test_a_due_time_in_a_year_without_calendar_data_raises_a_loud_warning(world, now, caplog):  # noqa: F811
    opened = datetime(2030, 3, 4, 1, 0, tzinfo=UTC)  # a Monday in a year no calendar covers
    assert 2030 not in load_work_calendar().years
    now(opened)
    instance = world.start("mini_decision")
    with caplog.at_level(logging.WARNING):
        world.complete(instance, "propose", PROPOSE)
    assert "no holiday calendar for 2030" in caplog.text
    resolve, timers = _resolve_timers(world, instance)
    assert "2030年无节假日数据" in timers["task_due"].payload["calendar_warning"]
    with world.sessions() as session:
        logged = session.scalars(select(AuditLog).where(AuditLog.action == "calendar.missing_year")).all()
    assert [(a.subject, a.detail["years"], a.detail["task"]) for a in logged] == [
        ("calendar 2030", [2030], resolve.id)
    ]
    world.sweep(timers["task_due"].due_at.replace(tzinfo=UTC) + timedelta(seconds=1))
    [overdue] = world.violations(instance, "step_overdue")
    assert "2030年无节假日数据" in overdue["message"]  # what the supervisor and the auditor read


def test_the_cli_prints_china_time(world, cli):  # noqa: F811
    instance = world.start("mini_decision")
    tasks = cli("tasks", check=True).out
    assert "due 2026-11-05T09:00:00+08:00" in tasks, tasks  # propose: P3D from Monday 09:00 China time
    history = cli("history", str(instance), check=True).out
    assert "2026-11-02T09:00:00+08:00" in history, history
    assert cli("tasks", "--json", check=True).json()[0]["due_at"] == "2026-11-05T01:00:00.000000Z"  # JSON: as stored
    world.sweep(T0 + timedelta(days=3, seconds=1))
    violations = cli("violations", check=True).out
    assert "2026-11-05T09:00:01+08:00" in violations, violations


def test_local_iso():
    assert work.local_iso("2026-11-05T01:00:00.000000Z") == "2026-11-05T09:00:00+08:00"
    assert work.local_iso(None) is None


def test_the_calendar_command_names_the_years_it_knows(cli):
    shown = cli("calendar", "show", "--year", "2030", check=True)
    assert "no holiday data for 2030" in shown.err and "years with data: 2004–" in shown.out
    assert 2025 in cli("calendar", "show", "--json", check=True).json()["years"]
    if 2027 in load_work_calendar().provisional:
        assert cli("calendar", "show", "--json", check=True).json()["provisional"] == [2027]
        assert "2027's adjusted working days (调休) are provisional" in cli("calendar", "show", "--year", "2027").err
        assert "provisional" not in cli("calendar", "show", "--year", "2026").err


def test_a_due_time_in_a_provisional_year_carries_a_note_and_is_logged_once(world, now):  # noqa: F811
    calendar = load_work_calendar()
    if 2027 not in calendar.provisional:
        pytest.skip("2027's adjusted working days are confirmed in this calendar")
    now(datetime(2026, 12, 28, 1, 0, tzinfo=UTC))  # Monday 28 December 2026: five working days reach 2027
    first, second = world.start("mini_decision"), world.start("mini_decision")
    world.complete(first, "propose", PROPOSE)
    world.complete(second, "propose", PROPOSE)
    _resolve, timers = _resolve_timers(world, first)
    assert "2027年调休安排未经确认" in timers["task_due"].payload["calendar_warning"]
    with world.sessions() as session:
        logged = session.scalars(select(AuditLog).where(AuditLog.action == "calendar.provisional_year")).all()
    assert [a.subject for a in logged] == ["calendar 2027"]
