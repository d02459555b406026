"""Public links and QR codes point at POWERLIST_PUBLIC_URL, whatever Host a request names, and the
wallet shows no personal numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.public import qr
from tests.support.webapp import make_app

ONLY_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
PUBLIC = "https://cun.example.gov.cn"
FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}


@pytest.fixture
def public_client(demo_world, db_url, tmp_path):
    app = make_app(db_url, tmp_path, PUBLIC_URL=PUBLIC + "/", TRUST_PROXY=True)
    yield app.test_client()
    from web.db import EXTENSION

    app.extensions[EXTENSION].kw["bind"].dispose()


@ONLY_SQLITE
def test_qr_code_and_page_address_come_from_the_setting_not_the_host_header(public_client, demo_world):
    from engine.public.villages import public_village

    with demo_world() as session:
        name = public_village(session, "QX0101").name
    expected = f"{PUBLIC}/public/villages/QX0101"
    for headers in ({}, FORGED):
        svg = public_client.get("/public/villages/QX0101/qr.svg", headers=headers)
        assert svg.status_code == 200
        assert svg.data == qr.svg(expected, title=name)
        page = public_client.get("/public/villages/QX0101", headers=headers).get_data(as_text=True)
        assert expected in page
        assert "evil.example" not in page and b"evil.example" not in svg.data


def test_the_setting_is_read_from_the_environment_with_a_local_default(monkeypatch, tmp_path):
    monkeypatch.delenv(qr.SETTING, raising=False)
    assert make_app("sqlite://", tmp_path).config["PUBLIC_URL"] == "http://localhost:5000"
    monkeypatch.setenv(qr.SETTING, " https://a.example:8443/cun/ ")
    app = make_app("sqlite://", tmp_path)
    assert app.config["PUBLIC_URL"] == "https://a.example:8443/cun"
    assert qr.village_url(app.config["PUBLIC_URL"], "QX0101") == "https://a.example:8443/cun/public/villages/QX0101"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ftp://cun.example", "scheme"),
        ("cun.example", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("https://", "host"),
        ("https://user:secret@cun.example", "user name or password"),
        ("https://evil.example@cun.example", "user name or password"),
        ("https://cun.example/?next=https://evil.example", "query"),
        ("https://cun.example/#top", "fragment"),
        ("https://cun.example:99999", "parse"),
        ("https://cun.example/a b", "spaces"),
    ],
)
def test_a_wrong_setting_stops_start_up_with_a_clear_error(monkeypatch, tmp_path, value: str, problem: str):
    monkeypatch.setenv(qr.SETTING, value)
    with pytest.raises(qr.PublicUrlInvalid) as caught:
        make_app("sqlite://", tmp_path)
    message = str(caught.value)
    assert qr.SETTING in message and problem in message
    assert "secret" not in message


@ONLY_SQLITE
def test_the_qr_command_uses_the_checked_setting(cli, demo_world, tmp_path: Path):
    out = tmp_path / "door.svg"
    done = cli("qr", "QX0101", "--out", str(out), env={qr.SETTING: PUBLIC}, check=True)
    assert f"{PUBLIC}/public/villages/QX0101" in done.out
    bad = cli("qr", "QX0101", "--out", str(out), env={qr.SETTING: "https://u:p@evil.example"})
    assert bad.code == 2 and qr.SETTING in bad.err
    assert cli("qr", "QX0101", "--out", str(out), "--base-url", "https://x.example/?a=1").code == 2


@ONLY_SQLITE
def test_the_wallet_masks_ids_and_phones_in_every_text(client, demo_world):
    from engine.supervision import evidence
    from tests.web.public.test_web_villagers import APPROVAL, VOUCHER, complete, deploy, start_payment

    deploy(demo_world, "fund_payment")
    voucher = {**VOUCHER, "payee": "张三 138-1234-5678", "purpose": "付李四工钱，身份证 4401 0119 9001 0112 34"}
    paid = start_payment(demo_world, voucher)
    for step, data in APPROVAL:
        complete(demo_world, paid, step, data)
    payment = {
        "paid_amount_fen": 80000,
        "paid_on": "2025-03-23",
        "payment_method": "village_card",
        "payment_reference": "VC20250323001",
        "accountant_name": "陈会计",
    }
    complete(demo_world, paid, "payment", payment)
    item = evidence.EvidenceInput(
        kind="payment",
        at=evidence.parse_time("2025-03-23T10:00:00+08:00"),
        amount_fen=80000,
        payee="王五 ＋８６ １３８ １２３４ ５６７８",
    )
    with demo_world() as session, session.begin():
        evidence.record(session, paid, item, "shangtang.bookkeeper")

    text = client.get("/public/villages/QX0101/wallet?year=2025").get_data(as_text=True)
    assert "张* ***" in text and "付李四工钱，身份证 ***" in text and "王* ***" in text
    assert "张三" not in text and "王五" not in text  # a payee who is a person is named by the name rule
    for section in re.findall(r'<section class="card" id="(?:payments|evidence)">(.*?)</section>', text, re.S):
        shown = re.sub(r"<[^>]+>|\d{4}-\d\d-\d\d|[\d,]+\.\d\d 元|QX\d{4}-\d{4}-.-\d{3}", "", section)
        assert not re.search(r"\d", shown), shown
