"""2027, the year after the last one ``chinesecalendar`` covers: its statutory holidays from
rules/calendar/2027.yaml, counted in working-day limits, and a warning while its adjusted working days
(调休) are provisional; a county confirms or overrides them with its own file."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from engine.calendar import CST, RULES_CALENDAR, WorkCalendar, load_work_calendar
from engine.supervision.calendar_files import check_calendar

PROVISIONAL = "holiday calendar for 2027 is provisional"


@pytest.fixture
def national(monkeypatch):
    """The shipped calendar without a county's folder, loaded afresh (its warnings not yet given)."""
    monkeypatch.delenv("POWERLIST_RULES_DIR", raising=False)
    load_work_calendar.cache_clear()
    yield load_work_calendar()
    load_work_calendar.cache_clear()


def local(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CST).astimezone(UTC)


def test_2027_has_the_statutory_holidays_of_the_2025_rules(national: WorkCalendar) -> None:
    assert 2027 in national.years and national.missing_years(local(date(2027, 1, 1)), local(date(2027, 12, 31))) == []
    days_off = {
        date(2027, 1, 1),  # 元旦
        date(2027, 2, 5),  # 除夕
        date(2027, 2, 8),  # 正月初三; 初一 and 初二 fall on the weekend ...
        date(2027, 2, 9),  # ... and are made up on the next working days
        date(2027, 2, 10),
        date(2027, 4, 5),  # 清明
        date(2027, 5, 3),  # 劳动节 on Saturday and Sunday, made up
        date(2027, 5, 4),
        date(2027, 6, 9),  # 端午 (五月初五)
        date(2027, 9, 15),  # 中秋 (八月十五)
        date(2027, 10, 1),  # 国庆 (Friday; Saturday and Sunday made up)
        date(2027, 10, 4),
        date(2027, 10, 5),
    }
    assert {d for d in national.holidays if d.year == 2027} == days_off
    assert all(not national.is_working(d) for d in days_off)
    assert national.is_working(date(2027, 2, 11)) and national.is_working(date(2027, 10, 6))
    assert not national.is_working(date(2027, 2, 6)) and not national.is_working(date(2027, 2, 7))  # the weekend
    assert 2027 in national.provisional and 2026 not in national.provisional


def test_a_working_day_limit_across_the_2027_spring_festival(national: WorkCalendar) -> None:
    # Opened Thursday 4 February 2027; 除夕 is Friday the 5th, 8–10 off, back on Thursday the 11th.
    due = national.add_working_days(local(date(2027, 2, 4)), 3)
    assert due.astimezone(CST).date() == date(2027, 2, 15)  # 11, 12 and (after the weekend) Monday 15
    # Five working days from Friday 29 January 2027: 1–4 February, then 11 February.
    assert national.add_working_days(local(date(2027, 1, 29)), 5).astimezone(CST).date() == date(2027, 2, 11)
    # Across the new year: opened Thursday 31 December 2026, 1 January 2027 off.
    assert national.add_working_days(local(date(2026, 12, 31)), 1).astimezone(CST).date() == date(2027, 1, 4)


def test_a_provisional_year_warns_once(national: WorkCalendar, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="engine.calendar"):
        national.add_working_days(local(date(2027, 2, 4)), 3)
        national.add_working_days(local(date(2027, 3, 1)), 10)
        national.add_working_days(local(date(2026, 12, 30)), 5)
    warnings = [r.getMessage() for r in caplog.records if PROVISIONAL in r.getMessage()]
    assert len(warnings) == 1, caplog.text
    assert "调休" in warnings[0] and "POWERLIST_RULES_DIR/calendar/<year>.yaml" in warnings[0]
    assert "no holiday calendar" not in caplog.text  # 2027 has data: not a missing year


def test_a_confirmed_year_does_not_warn(national: WorkCalendar, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="engine.calendar"):
        national.add_working_days(local(date(2026, 9, 28)), 5)
        national.add_working_days(local(date(2026, 2, 12)), 3)
    assert caplog.text == ""


def test_a_year_without_data_still_warns_as_before(national: WorkCalendar, caplog) -> None:
    assert 2030 not in national.years
    with caplog.at_level(logging.WARNING, logger="engine.calendar"):
        due = national.add_working_days(local(date(2030, 3, 4)), 5)
    assert due.astimezone(CST).date() == date(2030, 3, 11)  # weekends only
    assert "no holiday calendar for 2030" in caplog.text and PROVISIONAL not in caplog.text


def test_a_county_confirms_or_overrides_2027(monkeypatch, tmp_path, caplog) -> None:
    folder = tmp_path / "county" / "calendar"
    folder.mkdir(parents=True)
    # The county enters the State Council's adjusted days: Sunday 31 January worked, 11 February off.
    (folder / "2027.yaml").write_text(
        "year: 2027\nprovisional: false\nholidays: [2027-02-11]\nworkdays: [2027-01-31]\n", encoding="utf-8"
    )
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(tmp_path / "county"))
    load_work_calendar.cache_clear()
    try:
        calendar = load_work_calendar()
        assert 2027 not in calendar.provisional
        assert calendar.is_working(date(2027, 1, 31)) and not calendar.is_working(date(2027, 2, 11))
        assert not calendar.is_working(date(2027, 2, 5))  # the national days still apply
        with caplog.at_level(logging.WARNING, logger="engine.calendar"):
            due = calendar.add_working_days(local(date(2027, 2, 4)), 3)
        assert due.astimezone(CST).date() == date(2027, 2, 16)  # 12, 15, 16
        assert PROVISIONAL not in caplog.text
    finally:
        load_work_calendar.cache_clear()


def test_a_county_file_without_the_flag_leaves_the_year_provisional(monkeypatch, tmp_path) -> None:
    folder = tmp_path / "county" / "calendar"
    folder.mkdir(parents=True)
    (folder / "2027.yaml").write_text("year: 2027\nholidays: [2027-03-08]\n", encoding="utf-8")
    monkeypatch.setenv("POWERLIST_RULES_DIR", str(tmp_path / "county"))
    load_work_calendar.cache_clear()
    try:
        calendar = load_work_calendar()
        assert 2027 in calendar.provisional and not calendar.is_working(date(2027, 3, 8))
    finally:
        load_work_calendar.cache_clear()


def test_a_provisional_file_never_replaces_confirmed_data() -> None:
    confirmed = WorkCalendar({date(2027, 2, 5)}, {date(2027, 2, 20)}, {2027})  # as a newer chinesecalendar would
    confirmed.replace_years(WorkCalendar.load(RULES_CALENDAR))
    assert confirmed.is_working(date(2027, 2, 20)) and confirmed.is_working(date(2027, 2, 9))
    assert 2027 not in confirmed.provisional
    # Without the package's year, the provisional file is taken.
    empty = WorkCalendar()
    empty.replace_years(WorkCalendar.load(RULES_CALENDAR))
    assert not empty.is_working(date(2027, 2, 9)) and 2027 in empty.provisional


def test_the_shipped_calendar_files_validate() -> None:
    for path in sorted(RULES_CALENDAR.glob("*.yaml")):
        problems, summary = check_calendar(path.read_text(encoding="utf-8"))
        assert problems == [], (path, problems)
    _, summary = check_calendar((RULES_CALENDAR / "2027.yaml").read_text(encoding="utf-8"))
    assert "provisional" in summary
    problems, _ = check_calendar("year: 2027\nprovisional: perhaps\n")
    assert problems == ["provisional: true or false"]
