"""Who may open which auditor page: every route against every kind of user (SQLite only).

Only holders of an auditing role get in (others 403); each sees the villages of their scope, and a
matter or unit outside it does not exist for them (404).
"""

from __future__ import annotations

import pytest

from tests.web.auditor.conftest import World

ANONYMOUS = None
USERS = [
    ANONYMOUS,
    "shangtang.supervisor",  # 上塘村 QX0101
    "dongxi.discipline",  # 东溪镇 QX01
    "xiling.discipline",  # 西岭镇 QX02
    "county.discipline",
    "county.auditor",
    "shangtang.secretary",  # a cadre: no auditing role
    "admin",
]
FLOW = "flow=four_deliberations"

# expected status per user: anonymous, village, town, other town, county, auditor, cadre, admin
PAGES = {
    "/audit/": (302, 302, 302, 302, 302, 302, 403, 403),
    "/audit/matters": (302, 200, 200, 200, 200, 200, 403, 403),
    "/audit/matters?unit=QX0101": (302, 200, 200, 404, 200, 200, 403, 403),
    "/audit/matters?unit=QX02": (302, 404, 404, 200, 200, 200, 403, 403),
    "/audit/matters/{ok}": (302, 200, 200, 404, 200, 200, 403, 403),
    "/audit/matters/{slow}": (302, 404, 200, 404, 200, 200, 403, 403),
    "/audit/matters/{loop}?pos=2": (302, 404, 404, 200, 200, 200, 403, 403),
    "/audit/matters/999999": (302, 404, 404, 404, 404, 404, 403, 403),
    "/audit/heatmap": (302, 200, 200, 200, 200, 200, 403, 403),
    "/audit/heatmap?unit=QX0201": (302, 404, 404, 200, 200, 200, 403, 403),
    "/audit/conformance": (302, 200, 200, 200, 200, 200, 403, 403),
    f"/audit/conformance?{FLOW}&unit=QX01": (302, 404, 200, 404, 200, 200, 403, 403),
    f"/audit/export/csv?{FLOW}": (302, 200, 200, 200, 200, 200, 403, 403),
    f"/audit/export/xes?{FLOW}&unit=QX0102": (302, 404, 200, 404, 200, 200, 403, 403),
    f"/audit/export/xlsx?{FLOW}&unit=QX": (302, 404, 404, 404, 200, 200, 403, 403),
    f"/audit/export/csv/meta?{FLOW}&unit=QX0102": (302, 404, 200, 404, 200, 200, 403, 403),
    "/audit/verify": (302, 200, 200, 200, 200, 200, 403, 403),
    "/audit/verify?run=1&unit=QX0201": (302, 404, 404, 200, 200, 200, 403, 403),
    "/audit/verify?matter={loop}": (302, 404, 404, 200, 200, 200, 403, 403),
    "/audit/anchors": (302, 200, 200, 200, 200, 200, 403, 403),
    "/audit/conformance/jobs/AAAAAAAAAAAAAAAAAAAAAA": (302, 404, 404, 404, 404, 404, 403, 403),
    "/audit/conformance/jobs/AAAAAAAAAAAAAAAAAAAAAA/status": (302, 404, 404, 404, 404, 404, 403, 403),
    "/audit/conformance/jobs/AAAAAAAAAAAAAAAAAAAAAA/export/csv": (302, 404, 404, 404, 404, 404, 403, 403),
}
POSTS = {
    "/audit/conformance/upload": (302, 400, 400, 400, 400, 400, 403, 403),
    "/audit/anchors": (302, 403, 403, 403, 302, 302, 403, 403),
}


def _url(template: str, audited: World) -> str:
    return template.format(ok=audited.ok, slow=audited.slow, loop=audited.loop)


def _cases(table):
    return [
        pytest.param(route, user, status, id=f"{route}-{user or 'anonymous'}")
        for route, statuses in table.items()
        for user, status in zip(USERS, statuses, strict=True)
    ]


@pytest.mark.parametrize(("route", "user", "status"), _cases(PAGES))
def test_pages(audited, client_as, route, user, status):
    answer = client_as(user).get(_url(route, audited))
    assert answer.status_code == status, answer.data.decode()[:300]
    if user is ANONYMOUS:
        assert "/login" in answer.headers["Location"]


@pytest.mark.parametrize(("route", "user", "status"), _cases(POSTS))
def test_posts(audited, client_as, route, user, status):
    answer = client_as(user).post(_url(route, audited), data={"flow": "four_deliberations"})
    assert answer.status_code == status
    if user is ANONYMOUS:
        assert "/login" in answer.headers["Location"]


def test_the_menu_shows_the_audit_area_to_auditors_only(client_as):
    assert 'href="/audit/matters"' in client_as("shangtang.supervisor").get("/desk").data.decode()
    assert 'href="/audit/matters"' in client_as("county.auditor").get("/desk").data.decode()
    assert 'href="/audit/matters"' not in client_as("shangtang.secretary").get("/desk").data.decode()


def test_lists_hold_only_the_matters_in_scope(audited, client_as):
    village = client_as("shangtang.supervisor").get("/audit/matters").data.decode()
    assert f"/audit/matters/{audited.ok}" in village and f"/audit/matters/{audited.slow}" not in village
    town = client_as("xiling.discipline").get("/audit/matters").data.decode()
    assert f"/audit/matters/{audited.loop}" in town and f"/audit/matters/{audited.ok}" not in town
    units = client_as("dongxi.discipline").get("/audit/verify").data.decode()
    assert "QX0102" in units and "QX0201" not in units
