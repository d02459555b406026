"""The public disclosure board: no login, the published power list and the daily digests."""

from __future__ import annotations

import pytest

from engine.audit.anchor import make_anchor


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_board_shows_the_power_list_and_the_digests_to_anyone(client, demo_world):
    page = client.get("/public/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "村务公开栏" in text and "还没有公布存证摘要" in text
    assert "小额决策（测试）" in text  # deployed items only

    with demo_world() as session, session.begin():
        digest = make_anchor(session).digest
    text = client.get("/public/").get_data(as_text=True)
    assert digest in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_board_offers_no_form_and_leaks_no_matter(client, demo_world):
    text = client.get("/public/").get_data(as_text=True)
    assert "<form" not in text.split("</header>", 1)[-1]
    assert "shangtang" not in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_public_page_not_found_is_chinese_with_public_links_never_the_staff_login(client, auth, demo_world):
    import re

    for path in (
        "/public/matters/ABCD-EFGH-JKLM",  # a well-formed code nobody holds
        "/public/matters/nonsense",
        "/public/villages/NOPE",
        "/public/villages/NOPE/report",
        "/public/nothing-here",
    ):
        page = client.get(path)
        text = page.get_data(as_text=True)
        assert page.status_code == 404, path
        assert "找不到这个页面或事项" in text and "回执码、村的代码或链接可能输错了" in text, path
        links = set(re.findall(r'href="([^"]+)"', text))
        assert {"/public/", "/public/matters/"} <= links, path
        assert not any("login" in link for link in links) and "工作人员登录" not in text, path
        assert "no matter" not in text and "Not Found" not in text, path
        assert 'class="brand" href="/public/"' in text, path

    board = client.get("/public/").get_data(as_text=True)
    assert re.search(r'<a class="staff-login" href="/login">\s*工作人员登录', board)  # the board only
    assert 'class="brand" href="/public/"' in board and "主菜单" not in board

    auth.login("shangtang.secretary")
    staff = client.get("/matters/987654321")
    assert staff.status_code == 404 and 'class="brand" href="/"' in staff.get_data(as_text=True)  # staff frame kept
    public = client.get("/public/villages/NOPE").get_data(as_text=True)
    assert "主菜单" not in public and "退出" not in public and "shangtang" not in public
