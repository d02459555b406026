"""Importing XES and CSV logs: streamed, mapped to steps, bad rows reported by line, hostile input refused."""

from __future__ import annotations

import io

import pytest

from engine.audit.conformance import check_log
from engine.audit.logs import LogUnreadable, parse_timestamp, read_csv, read_xes
from engine.audit.mapping import ActivityMapper
from tests.engine.audit.conftest import found

XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <trace>
    <string key="concept:name" value="ok"/>
    <event><string key="concept:name" value="提议"/><date key="time:timestamp" value="2026-03-03T09:00:00+08:00"/>
      <string key="org:resource" value="sec"/></event>
    <event><string key="concept:name" value="商议"/>
      <date key="time:timestamp" value="2026-03-04T09:00:00+08:00"/></event>
    <event><string key="concept:name" value="review"/><string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2026-03-05T08:00:00+08:00"/></event>
    <event><string key="concept:name" value="review"/><string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2026-03-05T09:00:00+08:00"/></event>
  </trace>
  <trace>
    <string key="concept:name" value="skipped"/>
    <event><string key="concept:name" value="提议"/><date key="time:timestamp" value="2026-03-03T09:00:00Z"/></event>
    <event><string key="concept:name" value="商议"/><date key="time:timestamp" value="2026-03-04T09:00:00Z"/></event>
    <event><string key="concept:name" value="决议"/><date key="time:timestamp" value="2026-03-05T09:00:00Z"/>
      <string key="org:resource" value="chair"/></event>
    <event><string key="concept:name" value="开会"/><date key="time:timestamp" value="2026-03-05T10:00:00Z"/></event>
    <event><string key="concept:name" value="决议公开"/><date key="time:timestamp" value="yesterday"/></event>
  </trace>
  <trace>
    <event><string key="concept:name" value="提议"/><date key="time:timestamp" value="2026-03-03T09:00:00Z"/></event>
  </trace>
</log>
"""


def line_of(text: str, needle: str, nth: int = 1) -> int:
    position = -1
    for _ in range(nth):
        position = text.index(needle, position + 1)
    return text.count("\n", 0, position) + 1


def test_xes_import_maps_names_reports_bad_events_and_feeds_the_check(four):
    seen: list[int] = []
    result = read_xes(io.BytesIO(XES.encode()), ActivityMapper(four), progress=seen.append)
    assert result.summary().read == 10
    assert (result.used, result.skipped, result.rejected_count) == (6, 1, 3)
    assert [(r.line, r.field, r.reason) for r in result.rejected] == [
        (line_of(XES, "开会"), "concept:name", "unknown activity: not a step id, step name or mapped name"),
        (line_of(XES, "决议公开"), "time:timestamp", "bad time stamp"),
        (line_of(XES, "<event>", 10), "concept:name", "trace #3 has no case id (trace concept:name)"),
    ]
    assert result.rejected[1].value == "yesterday"
    assert result.unknown_activities == {"开会": 1}
    assert seen and seen[-1] == len(XES.encode())
    log = result.log
    assert log.case_ids == ["ok", "skipped"]
    assert [log.activity(e) for e in log.events(0)] == ["propose", "discuss", "review"]
    assert log.resource(0) == "sec"
    assert found(check_log(log, four)) == {"skipped": [("skip", "review")]}


@pytest.mark.parametrize(
    "content, message",
    [
        ('<?xml version="1.0"?><!DOCTYPE log [<!ENTITY boom "x">]><log>&boom;</log>', "DOCTYPE"),
        ('<?xml version="1.0"?>\n<log>\n<trace><event></trace></log>', "line 3"),
        ("", "empty"),
    ],
)
def test_hostile_or_broken_xes_is_refused(four, content, message):
    with pytest.raises(LogUnreadable) as caught:
        read_xes(io.BytesIO(content.encode()), ActivityMapper(four))
    assert message in str(caught.value) and caught.value.exit_code == 2


def test_size_limit(four):
    with pytest.raises(LogUnreadable, match="larger than"):
        read_xes(io.BytesIO(XES.encode()), ActivityMapper(four), max_bytes=512)


CSV = """事项编号,办理环节,办理人,完成时间,备注
A-1,提议,张书记,2026/3/3 9:00,
A-1,两委会商议,张书记,2026年3月4日 9时30分,
A-1,审议,张书记,2026-03-05 09:00,

,决议,李主任,2026-03-06 09:00,no case
A-1,决议,李主任,2026-03-06,
A-2,提议,王书记,2026-03-03T09:00:00+08:00,
A-2,决议,王主任,not a time,
A-2,喝茶,王主任,2026-03-04T09:00:00+08:00,
A-2,resolve,王主任,2026-03-05T09:00:00+08:00,
"""


def test_csv_with_chinese_headers_gbk_and_bad_rows(four):
    mapper = ActivityMapper(four)
    mapper.add("两委会商议", "discuss")
    result = read_csv(io.BytesIO(CSV.encode("gb18030")), mapper, ended=False)
    assert [(r.line, r.field, r.reason) for r in result.rejected] == [
        (6, "事项编号", "missing case id"),
        (9, "完成时间", "bad time stamp"),
        (10, "办理环节", "unknown activity: not a step id, step name or mapped name"),
    ]
    assert (result.read, result.used, result.rejected_count) == (9, 6, 3)  # the blank line is no row
    log = result.log
    assert [log.activity(e) for e in log.events(0)] == ["propose", "discuss", "review", "resolve"]
    assert log.resource(3) == "李主任"
    assert log.times[1] == parse_timestamp("2026-03-04T09:30:00+08:00")
    assert found(check_log(log, four)) == {"A-2": [("skip", "review")]}


def test_csv_named_columns_comments_and_finished_cases(four):
    text = (
        "# exported by another system\nid;what;when;who\nx;propose;2026-03-03 09:00;a\nx;discuss;2026-03-04 09:00;a\n"
    )
    columns = {"case": "id", "activity": "what", "timestamp": "when", "resource": "4"}
    result = read_csv(io.BytesIO(text.encode()), ActivityMapper(four), columns=columns, ended=True)
    assert result.used == 2 and result.log.resource(0) == "a"
    assert check_log(result.log, four).raw == []  # ended after 商议 (not agreed) is a legal end
    with pytest.raises(LogUnreadable, match="which column holds case"):
        read_csv(io.BytesIO(b"foo,bar\n1,2\n"), ActivityMapper(four))
    with pytest.raises(LogUnreadable, match="no column 'nope'"):
        read_csv(io.BytesIO(text.encode()), ActivityMapper(four), columns={"case": "nope"})


def test_time_stamps():
    assert parse_timestamp("2026-03-03T01:00:00Z") == parse_timestamp("2026-03-03 09:00")  # CST by default
    assert parse_timestamp("2026年3月3日") == parse_timestamp("2026-03-03T00:00:00+08:00")
    assert parse_timestamp("2026/3/3 9:05:07.5") == parse_timestamp("2026-03-03 09:05:07.500")
    with pytest.raises(ValueError):
        parse_timestamp("03/03/2026")
