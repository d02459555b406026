"""The auditor pages on seeded histories: replay positions and as-of, filters, heatmap numbers,
conformance of our own histories, exports, and bad input answered with a message."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

COUNTY = "county.discipline"


def page(client_as, url: str, user: str = COUNTY, status: int = 200) -> str:
    answer = client_as(user).get(url)
    assert answer.status_code == status, answer.data.decode()[:500]
    return answer.data.decode()


def state_of(html: str, element: str) -> str:
    """The diagram state (done, current, overdue, skipped or none) of a drawn element."""
    found = re.search(rf'<g class="([^"]*)" data-element-id="{element}"', html)
    assert found, element
    states = {"done", "current", "overdue", "skipped"} & set(found.group(1).split())
    return states.pop() if states else "none"


def test_replay_steps_through_positions_on_the_diagram(audited, client_as):
    url = f"/audit/matters/{audited.loop}"
    last = page(client_as, url)
    assert "第 22 / 22 条" in last
    assert state_of(last, "disclose_result") == "done" and state_of(last, "end_done") == "done"
    assert state_of(last, "end_rejected") == "skipped"
    first = page(client_as, f"{url}?pos=0")
    assert "第 1 / 22 条" in first and state_of(first, "start") == "done"
    assert state_of(first, "propose") == "current" and state_of(first, "discuss") == "none"
    assert 'data-step="first"' not in first and 'data-step="next"' in first
    review_failed = page(client_as, f"{url}?pos=5")
    assert "办理「审议」" in review_failed and "岭头村书记" in review_failed
    assert state_of(review_failed, "review") == "done" and state_of(review_failed, "discuss") == "current"
    assert "反对票" in review_failed and "<dd>18</dd>" in review_failed  # the form data of that step
    assert review_failed.count('<tr class="') == 3  # propose, discuss, review done so far
    assert "7 天" in review_failed and "1 天" in review_failed  # time limit and time taken
    assert re.search(r'data-step="next" href="/audit/matters/\d+\?pos=6"', review_failed)
    beyond = page(client_as, f"{url}?pos=500")
    assert "第 22 / 22 条" in beyond


def test_replay_as_of_a_moment(audited, client_as):
    url = f"/audit/matters/{audited.loop}"
    middle = page(client_as, f"{url}?as_of=2026-03-04T10:00")
    assert "第 5 / 5 条" in middle and "只显示" in middle
    assert state_of(middle, "discuss") == "done" and state_of(middle, "review") == "current"
    assert "已等待 1 小时" in middle  # 审议 opened at 09:00
    assert "?as_of=2026-03-04T10:00&amp;pos=0" in middle  # the links keep the moment
    before = page(client_as, f"{url}?as_of=2026-03-01")
    assert "事项还没有发起" in before
    bad = page(client_as, f"{url}?as_of=2026-02-30T10:00", status=400)
    assert "不是有效的时间" in bad and "第 22 / 22 条" in bad
    assert "不是有效的时间" in page(client_as, f"{url}?as_of=%3Cscript%3E", status=400)
    assert "位置" in page(client_as, f"{url}?pos=-1", status=400)


def test_replay_shows_late_steps_attachments_and_deviations(audited, client_as):
    slow = page(client_as, f"/audit/matters/{audited.slow}?pos=4")
    assert "超时 2 天" in slow and 'class="late"' in slow
    assert "kind-tag overdue" in slow and f"/audit/matters/{audited.slow}?pos=3" in slow
    attached = page(client_as, f"/audit/matters/{audited.attached}?pos=1")
    assert f"/matters/{audited.attached}/attachments/{audited.sha256}" in attached and "方案.png" in attached
    assert client_as(COUNTY).get(f"/matters/{audited.attached}/attachments/{audited.sha256}").status_code == 200


def test_matter_filters_and_pages(audited, client_as, monkeypatch):
    def ids(html: str) -> set[int]:
        return {int(i) for i in re.findall(r'class="cover" href="/audit/matters/(\d+)"', html)}

    everything = {audited.ok, audited.slow, audited.loop, audited.running, audited.attached}
    assert ids(page(client_as, "/audit/matters")) == everything
    assert ids(page(client_as, "/audit/matters?unit=QX01")) == everything - {audited.loop}
    assert ids(page(client_as, "/audit/matters?unit=QX0102")) == {audited.slow}
    assert ids(page(client_as, "/audit/matters?status=completed")) == {audited.ok, audited.slow, audited.loop}
    assert ids(page(client_as, "/audit/matters?status=running&unit=QX0101")) == {audited.running, audited.attached}
    assert ids(page(client_as, "/audit/matters?since=2026-03-20")) == {audited.running, audited.attached}
    assert ids(page(client_as, "/audit/matters?since=2026-03-02&until=2026-03-02")) == {
        audited.ok,
        audited.slow,
        audited.loop,
    }
    assert ids(page(client_as, "/audit/matters?flow=mini_decision")) == set()
    monkeypatch.setattr("web.auditor.matters.PER_PAGE", 2)
    pages = [ids(page(client_as, f"/audit/matters?page={n}")) for n in (1, 2, 3)]
    assert set().union(*pages) == everything and [len(p) for p in pages] == [2, 2, 1]
    assert "第 2 / 3 页" in page(client_as, "/audit/matters?page=2")
    assert "page=3" in page(client_as, "/audit/matters?page=2")
    assert ids(page(client_as, "/audit/matters?page=99")) == pages[2]


def test_violation_colour_filter(audited, client_as):
    from engine.persistence.db import make_engine, make_sessionmaker
    from engine.supervision.queries import list_violations

    engine = make_engine(audited.url)
    with make_sessionmaker(engine)() as session:
        found = list_violations(session)
    engine.dispose()
    if not any(v.instance for v in found):
        pytest.skip("no violations were raised on the seeded matters")
    listing = page(client_as, "/audit/matters")
    assert 'name="colour"' in listing and "预警 " in listing
    for colour in ("red", "yellow", "blue"):
        expected = {v.instance for v in found if v.severity == colour and v.instance}
        html = page(client_as, f"/audit/matters?colour={colour}")
        assert {int(i) for i in re.findall(r'class="cover" href="/audit/matters/(\d+)"', html)} == expected
    flagged = {v.instance for v in found if v.instance}
    html = page(client_as, "/audit/matters?colour=none")
    shown = {int(i) for i in re.findall(r'class="cover" href="/audit/matters/(\d+)"', html)}
    assert shown and not shown & flagged
    assert "预警颜色的选项不对" in page(client_as, "/audit/matters?colour=purple", status=400)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=2026-13-01", "开始日期不是有效的日期"),
        ("until=yesterday", "结束日期不是有效的日期"),
        ("since=2026-03-05&until=2026-03-01", "开始日期不能晚于结束日期"),
        ("page=x", "页码应当是"),
        ("status=lost", "状态的选项不对"),
        ("flow=no_such_flow", "事项的选项不对"),
        ("unit=" + "x" * 200, "太长了"),
    ],
)
def test_bad_filters_get_a_message(client_as, query, message):
    assert message in page(client_as, f"/audit/matters?{query}", status=400)


def test_heatmap_numbers_on_the_seeded_history(client_as):
    html = page(client_as, "/audit/heatmap?flow=four_deliberations")
    rows = {
        step: [int(n) for n in re.findall(r'<td class="num">(\d+)', row)][:6]
        for step, row in re.findall(r'<tr data-step="(\w+)">(.*?)</tr>', html, re.S)
    }
    # count, overdue, skip, swap, repeat, reworked
    assert rows["discuss"] == [5, 1, 0, 0, 0, 1]
    assert rows["review"] == [4, 0, 0, 0, 0, 1]
    assert rows["resolve"] == [3, 0, 0, 0, 0, 0]
    assert "5 件事项，32 个已办步骤，其中 1 件有问题" in html
    assert "超时 20%" in html and "heat-1" in html
    assert re.search(r'class="pl-shape pl-task heat-1" data-element-id="discuss"', html)
    median = page(client_as, "/audit/heatmap?flow=four_deliberations&metric=median")
    assert "1.0 天" in median
    rework = page(client_as, "/audit/heatmap?flow=four_deliberations&metric=rework")
    assert "返工 1" in rework
    town = page(client_as, "/audit/heatmap?flow=four_deliberations&unit=QX0102")
    assert re.search(r'class="pl-shape pl-task heat-4" data-element-id="discuss"', town)
    assert "超时 100%" in town
    assert "着色依据的选项不对" in page(client_as, "/audit/heatmap?metric=colour", status=400)


def test_conformance_of_our_own_histories(audited, client_as):
    html = page(client_as, "/audit/conformance?flow=four_deliberations")
    assert f'href="/audit/matters/{audited.slow}"' in html and "下塘村书记" in html
    assert "kind-tag overdue" in html and "超时 2 天" in html
    assert re.search(r"<strong>1</strong><span>件有问题", html)
    village = page(client_as, "/audit/conformance?flow=four_deliberations", user="shangtang.supervisor")
    assert "没有发现跳过、颠倒、重复或超时的步骤" in village
    assert 'href="/audit/export/xlsx?flow=four_deliberations"' in village


def test_exports_download_with_the_right_content_type(audited, client_as):
    client = client_as(COUNTY)
    xes = client.get("/audit/export/xes?flow=four_deliberations&unit=QX01")
    assert xes.status_code == 200 and xes.mimetype == "application/xml"
    assert "attachment" in xes.headers["Content-Disposition"] and ".xes" in xes.headers["Content-Disposition"]
    text = xes.data.decode()
    assert text.startswith("<?xml") and 'key="powerlist:deviation" value="overdue"' in text
    assert f'value="{audited.loop}"' not in text  # 岭头村 is not in 东溪镇
    csv = client.get("/audit/export/csv?flow=four_deliberations")
    assert csv.status_code == 200 and csv.content_type == "text/csv; charset=utf-8"
    lines = csv.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("case,receipt,flow,") and "X-Powerlist-Anchor" in csv.headers
    meta = client.get("/audit/export/csv/meta?flow=four_deliberations")
    assert meta.status_code == 200 and ".csv.meta.json" in meta.headers["Content-Disposition"]
    assert meta.json["flow"] == "four_deliberations" and meta.json["counts"]["cases"] == len(
        {line.split(",")[0] for line in lines[1:]}
    )
    findings = client.get("/audit/export/findings?flow=four_deliberations").data.decode("utf-8-sig").splitlines()
    assert findings[0].startswith("case,kind") and len(findings) == 2 and ",overdue," in findings[1]
    xlsx = client.get("/audit/export/xlsx?flow=four_deliberations")
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(xlsx.data))
    assert workbook.sheetnames[:2] == ["说明", "审计发现"] and "下塘村" in workbook.sheetnames
    assert client.get("/audit/export/pdf?flow=four_deliberations").status_code == 404
    assert client.get("/audit/export/csv").status_code == 400
    assert client.get("/audit/export/csv?flow=four_deliberations&since=soon").status_code == 400


def test_english_pages(client_as, audited):
    client = client_as("county.auditor")
    client.get("/lang/en")
    try:
        html = client.get(f"/audit/matters/{audited.loop}?pos=5").data.decode()
        assert "Event 6 of 22" in html and "Steps done" in html and "Integrity" in html
        assert "Heatmap" in client.get("/audit/heatmap").data.decode()
    finally:
        client.get("/lang/zh")
