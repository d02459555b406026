"""The public disclosure board: no login, the published power list and the daily digests."""

from __future__ import annotations

import pytest

from engine.audit.anchor import make_anchor


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_board_shows_the_power_list_and_the_digests_to_anyone(client, world):
    page = client.get("/public/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "村务公开栏" in text and "还没有公布存证摘要" in text
    assert "小额决策（测试）" in text  # deployed items only

    with world() as session, session.begin():
        digest = make_anchor(session).digest
    text = client.get("/public/").get_data(as_text=True)
    assert digest in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_board_offers_no_form_and_leaks_no_matter(client, world):
    text = client.get("/public/").get_data(as_text=True)
    assert "<form" not in text.split("</header>", 1)[-1]
    assert "shangtang" not in text
