"""Uploaded event logs: read in the background with progress, rejected rows named by line, findings
per case, downloads; and every kind of bad upload answered with a clear message."""

from __future__ import annotations

import gzip
import io
import re
import time

COUNTY = "county.discipline"
LOG = """case,activity,timestamp,resource
A,提议,2026-03-03 09:00,张三
A,商议,2026-03-04 09:00,张三
A,决议,2026-03-05 09:00,李四
B,propose,2026-03-03 09:00,王五
B,discuss,not a time,王五
B,飞行,2026-03-04 09:00,王五
"""


def upload(client, content: bytes, filename: str = "log.csv", status: int = 302, **fields):
    data = {"flow": "four_deliberations", "log": (io.BytesIO(content), filename), **fields}
    answer = client.post("/audit/conformance/upload", data=data, content_type="multipart/form-data")
    assert answer.status_code == status, answer.data.decode()[:800]
    return answer


def finished(client, answer) -> tuple[str, str]:
    """Follow an upload to its job page once the background check is over: (job url, page)."""
    url = answer.headers["Location"]
    deadline = time.monotonic() + 20
    while True:
        state = client.get(f"{url}/status").get_json()
        if state["status"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.02)
    html = client.get(url).data.decode()
    return url, html


def test_a_csv_log_with_bad_rows(client_as):
    client = client_as(COUNTY)
    size = len(LOG.encode())
    url, html = finished(client, upload(client, LOG.encode()))
    assert client.get(f"{url}/status").get_json() == {"status": "done", "read": size, "total": size, "percent": 100}
    rows = re.findall(r'<td class="num">(\d+)</td><td>[^<]*</td><td>([^<]*)</td>', html)
    rejected = {int(line): reason for line, reason in rows}
    assert rejected == {6: "时间格式不对", 7: "不认识的活动：既不是步骤编号或名称，也不在活动对照表里"}
    assert "飞行（1）" in html
    assert "案例 A" in html and "kind-tag skip" in html and "审议" in html and "李四" in html
    findings = client.get(f"{url}/export/findings")
    assert findings.status_code == 200 and findings.content_type == "text/csv; charset=utf-8"
    assert ",skip,跳过,review," in findings.data.decode("utf-8-sig")
    xes = client.get(f"{url}/export/xes")
    assert xes.mimetype == "application/xml" and b'value="A"' in xes.data
    assert client.get(f"{url}/export/xlsx").data[:2] == b"PK"
    assert client.get(f"{url}/export/pdf").status_code == 404
    other = client_as("county.auditor")
    assert other.get(url).status_code == 404 and other.get(f"{url}/export/csv").status_code == 404


def test_our_own_export_checks_the_same_when_uploaded(client_as):
    client = client_as(COUNTY)
    xes = client.get("/audit/export/xes?flow=four_deliberations").data
    url, html = finished(client, upload(client, gzip.compress(xes), "histories.xes.gz"))
    assert "被拒绝的行" not in html and "kind-tag overdue" in html and "下塘村书记" not in html
    assert "<strong>5</strong><span>个案例" in html and "<strong>1</strong><span>件有问题" in html


def test_columns_mapping_and_ended_cases(client_as):
    client = client_as(COUNTY)
    odd = "编号;环节名;完成于\nX;提议;2026-03-03\nX;开会商量;2026-03-04\nX;决议公开;2026-03-05\n"
    answer = upload(client, odd.encode("gb18030"), "odd.txt")
    _url, html = finished(client, answer)
    assert "认不出哪一列是事项编号、活动或时间" in html
    mapping = ("开会商量,商议\n", "mapping.csv")
    answer = upload(
        client,
        odd.encode("gb18030"),
        "odd.txt",
        activity_column="环节名",
        timestamp_column="3",
        ended="1",
        mapping=(io.BytesIO(mapping[0].encode()), mapping[1]),
    )
    _url, html = finished(client, answer)
    assert "被拒绝的行" not in html and "<strong>3</strong><span>已使用" in html
    assert "kind-tag skip" in html and "<strong>审议</strong>" in html
    assert "<strong>结果公开</strong>" in html  # the case ended: its last steps are missing
    bad_map = (io.BytesIO("开会商量,开大会\n".encode()), "mapping.csv")
    page = upload(client, odd.encode(), "odd.csv", status=400, mapping=bad_map).data.decode()
    assert "不是这个流程的步骤" in page


def test_bad_uploads_get_clear_messages(client_as):
    client = client_as(COUNTY)
    page = client.post("/audit/conformance/upload", data={"flow": "four_deliberations"}).data.decode()
    assert "请选择要检查的日志文件" in page
    assert "请选择要对照的事项流程" in upload(client, b"x", status=400, flow="").data.decode()
    assert "事项的选项不对" in upload(client, b"x", status=400, flow="nope").data.decode()
    assert "看不出这是 XES 还是 CSV" in upload(client, b"x", "log.dat", status=400).data.decode()
    assert "文件太大了" in upload(client, b"a" * 250_000, status=413).data.decode()
    for content, name, message in [
        (b"", "empty.csv", "文件是空的"),
        (b"<log><trace><event>", "broken.xes", "这不是有效的 XES 文件"),
        (b'<?xml version="1.0"?><!DOCTYPE log [<!ENTITY x "y">]><log/>', "evil.xes", "DOCTYPE"),
        (b"\x1f\x8bnot gzip", "bad.csv.gz", "无法读取这个文件"),
    ]:
        _url, html = finished(client, upload(client, content, name))
        assert message in html, name
        assert 'class="flash error"' in html
