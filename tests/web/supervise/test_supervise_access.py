"""Who may read which supervision page and API route: every GET route of the supervisors' pages
(/supervise) and of the API's violations, documents, talks, overview and search, for every kind of user.

A user without a supervising or auditing role is refused the whole area (403), except a warning's
own page, open to its rectification owner, which answers the others that it does not exist (404);
a warning, document or unit outside a reader's scope does not exist for them (404, never 403); an
anonymous visitor is sent to sign in (302) on a page and refused (401) by the API. No answer carries
anything of a village outside the reader's scope. A GET route missing from the table fails the test.

The warnings come from tests/web/supervise/conftest.py: a red one on 上塘村道修缮 (QX0101, town QX01, with
the town from the start), yellow and blue ones on it (with the village), a yellow one in 下塘村
(QX0102, same town) and one in 岭头村 (QX0201, town QX02). The red one is assigned to 上塘村's 主任 and
has a 整改通知书 and a 提醒谈话; 岭头村's has a notice and a talk of 西岭镇.
"""

from __future__ import annotations

import pytest

from engine.errors import NotFound, PermissionDenied
from engine.supervision import handling, notices, talks
from tests.support.webapp import served
from tests.web.supervise.conftest import Warnings

PASSWORD = "powerlist-demo"
ANONYMOUS = None
# The kinds of user, by the user standing for each, in the order of the table's columns.
USERS = {
    "anonymous": ANONYMOUS,
    "village": "shangtang.supervisor",  # 上塘村 (QX0101) 村监会
    "other_village": "xiatang.supervisor",  # 下塘村 (QX0102) 村监会
    "town": "dongxi.discipline",  # 东溪镇 (QX01: 上塘村, 下塘村) 镇纪委
    "other_town": "xiling.discipline",  # 西岭镇 (QX02: 岭头村, 岭脚村) 镇纪委
    "county": "county.discipline",
    "auditor": "county.auditor",
    "owner": "shangtang.chair",  # 上塘村主任: owns the red warning's rectification
    "cadre": "shangtang.cadre",  # a village cadre: no part in supervision
    "admin": "admin",
}
# What each kind of user may not see a trace of: the villages out of their scope and their matters.
VILLAGES = {
    "QX0101": ("上塘村", "上塘村道修缮"),
    "QX0102": ("下塘村", "下塘水渠"),
    "QX0201": ("岭头村", "岭头桥梁"),
}
SCOPE = {
    "village": {"QX0101"},
    "other_village": {"QX0102"},
    "town": {"QX0101", "QX0102"},
    "other_town": {"QX0201"},
    "county": set(VILLAGES),
    "auditor": set(VILLAGES),
}

# Expected status, by kind of user in the order of USERS:
#   anonymous, village, other village, town, other town, county, auditor, owner, cadre, admin
PAGES = {
    "supervise.worklist": {
        "/supervise/": (302, 200, 200, 200, 200, 200, 200, 403, 403, 403),
        "/supervise/?state=closed&colour=red": (302, 200, 200, 200, 200, 200, 200, 403, 403, 403),
        "/supervise/?village=QX0201": (302, 200, 200, 200, 200, 200, 200, 403, 403, 403),
    },
    "supervise.violation": {
        "/supervise/violations/{red}": (302, 200, 404, 200, 404, 200, 200, 200, 404, 404),
        "/supervise/violations/{far}": (302, 404, 404, 404, 200, 200, 200, 404, 404, 404),
        "/supervise/violations/999999": (302, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    },
    "supervise.violation_documents": {
        "/supervise/violations/{red}/documents": (302, 200, 404, 200, 404, 200, 200, 403, 403, 403),
    },
    "supervise.search_page": {
        "/supervise/search?q=修缮": (302, 200, 200, 200, 200, 200, 200, 403, 403, 403),
    },
    "supervise.documents": {
        "/supervise/documents/": (302, 200, 200, 200, 200, 200, 200, 403, 403, 403),
    },
    "supervise.document_new": {
        "/supervise/documents/new?kind=warning&violation={red}": (302, 200, 404, 200, 404, 200, 403, 403, 403, 403),
        "/supervise/documents/new?kind=order&violation={far}": (302, 404, 404, 404, 200, 200, 403, 403, 403, 403),
    },
    "supervise.document": {
        "/supervise/documents/{document}": (302, 200, 404, 200, 404, 200, 200, 403, 403, 403),
        "/supervise/documents/{far_document}": (302, 404, 404, 404, 200, 200, 200, 403, 403, 403),
    },
    "supervise.document_print": {
        "/supervise/documents/{document}/print": (302, 200, 404, 200, 404, 200, 200, 403, 403, 403),
    },
    "supervise.document_pdf": {
        "/supervise/documents/{far_document}/pdf": (302, 404, 404, 404, 200, 200, 200, 403, 403, 403),
    },
    "supervise.risk": {
        "/supervise/overview/risk": (302, 200, 200, 200, 200, 200, 200, 403, 403, 403),
        "/supervise/overview/risk?unit=QX0101": (302, 200, 404, 200, 404, 200, 200, 403, 403, 403),
    },
    "supervise.grades": {
        "/supervise/overview/grades?period=2026Q4": (302, 200, 200, 200, 200, 200, 200, 403, 403, 403),
    },
    "supervise.lists": {
        "/supervise/overview/lists?period=2026-11&unit=QX01": (302, 404, 404, 200, 404, 200, 200, 403, 403, 403),
    },
}
API = {
    "api.violations": {
        "/api/v1/violations": (401, 200, 200, 200, 200, 200, 200, 403, 403, 403),
        "/api/v1/violations?village=QX0201&state=closed": (401, 200, 200, 200, 200, 200, 200, 403, 403, 403),
    },
    "api.violation": {
        "/api/v1/violations/{red}": (401, 200, 404, 200, 404, 200, 200, 200, 404, 404),
        "/api/v1/violations/{far}": (401, 404, 404, 404, 200, 200, 200, 404, 404, 404),
    },
    "api.search_matters": {
        "/api/v1/search?q=修缮": (401, 200, 200, 200, 200, 200, 200, 403, 403, 403),
    },
    "api.documents": {
        "/api/v1/documents": (401, 200, 200, 200, 200, 200, 200, 403, 403, 403),
        "/api/v1/documents?violation={red}": (401, 200, 404, 200, 404, 200, 200, 403, 403, 403),
    },
    "api.document": {
        "/api/v1/documents/{document}": (401, 200, 404, 200, 404, 200, 200, 404, 404, 404),
    },
    "api.document_pdf": {
        "/api/v1/documents/{document}/pdf": (401, 200, 404, 200, 404, 200, 200, 404, 404, 404),
    },
    "api.talk_list": {
        "/api/v1/talks": (401, 200, 200, 200, 200, 200, 200, 403, 403, 403),
        "/api/v1/talks?village=QX0201": (401, 404, 404, 404, 200, 200, 200, 403, 403, 403),
    },
    "api.overview_risk": {
        "/api/v1/overview/risk?period=2026Q4": (401, 200, 200, 200, 200, 200, 200, 403, 403, 403),
        "/api/v1/overview/risk?unit=QX02": (401, 404, 404, 404, 200, 200, 200, 403, 403, 403),
    },
    "api.overview_grades": {
        "/api/v1/overview/grades?period=2026Q4": (401, 200, 200, 200, 200, 200, 200, 403, 403, 403),
    },
    "api.overview_lists": {
        "/api/v1/overview/lists?period=2026-11": (401, 200, 200, 200, 200, 200, 200, 403, 403, 403),
    },
}
# The API's error codes: a list refused to a non-reader, an item or unit out of scope, a missing token.
CODES = {
    401: {"Unauthorized"},
    403: {"policy.denied"},
    404: {"violation.not_found", "notice.not_found", "not_found", "unit.not_found"},
}
API_PREFIXES = ("/api/v1/violations", "/api/v1/documents", "/api/v1/talks", "/api/v1/overview/", "/api/v1/search")
TALK = {
    "held_on": "2026-11-02",
    "place": "村委会会议室",
    "present": [{"name": "王明", "office": "镇纪委书记"}],
    "subject_office": "村委会主任",
    "summary": "指出强制办结的问题",
    "outcome": "承诺十日内整改",
}


def read_routes(app) -> dict[str, str]:
    """Every GET route of the supervisors' pages and of the API's supervision routes, by endpoint."""
    return {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and (rule.endpoint.startswith("supervise.") or rule.rule.startswith(API_PREFIXES))
    }


def test_the_table_knows_every_reading_route():
    from web import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "routes"})
    routes = read_routes(app)
    app.extensions["powerlist.sessions"].kw["bind"].dispose()
    known = set(PAGES) | set(API)
    assert not set(routes) - known, f"GET routes the table does not list: {set(routes) - known}"
    assert not known - set(routes), f"the table lists routes that are gone: {known - set(routes)}"
    for table in (PAGES, API):
        for urls in table.values():
            assert all(len(statuses) == len(USERS) for statuses in urls.values())


@pytest.fixture
def site(warnings: Warnings, db_url, tmp_path):
    """The warnings of the fixture, the red one assigned, a document and a talk each in 上塘村 and 岭头村."""
    from engine.workspace import tokens

    w = warnings.world
    with w.sessions() as session, session.begin():
        handling.handle(
            session,
            warnings.red,
            "assign",
            "dongxi.discipline",
            owner_role="committee_chair",
            owner_user="shangtang.chair",
            deadline="2026-11-20",
        )
        document = notices.issue(session, "dongxi.discipline", "rectification", violation_id=warnings.red).id
        far_document = notices.issue(session, "xiling.discipline", "rectification", violation_id=warnings.far).id
        talks.record(session, "dongxi.discipline", "reminder", violation_id=warnings.red, subject_name="上塘某", **TALK)
        talks.record(session, "xiling.discipline", "reminder", violation_id=warnings.far, subject_name="岭头某", **TALK)
        keys = {kind: tokens.create(session, user, "access", None) for kind, user in USERS.items() if user}
    ids = {"red": warnings.red, "far": warnings.far, "document": document, "far_document": far_document}
    for app in served(db_url, tmp_path):
        yield app, ids, keys, w


def _clients(app) -> dict:
    clients = {}
    for kind, user in USERS.items():
        client = clients[kind] = app.test_client()
        if user:
            answer = client.post("/login", data={"username": user, "password": PASSWORD})
            assert answer.status_code == 302, user
    return clients


def _leaks(kind: str, text: str) -> list[str]:
    """What of a village outside the user's scope the answer names."""
    if kind not in SCOPE:
        return []
    outside = [(code, *words) for code, words in VILLAGES.items() if code not in SCOPE[kind]]
    return [word for words in outside for word in words if word in text]


def test_who_reads_what(site):
    app, ids, keys, _world = site
    clients = _clients(app)
    wrong: list[str] = []
    for table, api in ((PAGES, False), (API, True)):
        for urls in table.values():
            for template, statuses in urls.items():
                url = template.format(**ids)
                for (kind, user), expected in zip(USERS.items(), statuses, strict=True):
                    if api:
                        headers = {"Authorization": f"Bearer {keys[kind]}"} if user else {}
                        answer = app.test_client().get(url, headers=headers)
                    else:
                        answer = clients[kind].get(url)
                    seen = f"{url} as {kind}: {answer.status_code}"
                    if answer.status_code != expected:
                        wrong.append(f"{seen}, expected {expected}")
                        continue
                    if expected == 302 and "/login" not in answer.headers["Location"]:
                        wrong.append(f"{seen} to {answer.headers['Location']}, not to the login")
                    if api and expected in CODES and answer.get_json()["error"]["code"] not in CODES[expected]:
                        wrong.append(f"{seen} with {answer.get_json()['error']['code']}")
                    if answer.mimetype == "application/pdf":
                        text = _pdf_text(answer.data)
                    else:
                        text = answer.get_data(as_text=True)
                    leaked = [word for word in _leaks(kind, text) if word not in url]  # not what was asked
                    if leaked:
                        wrong.append(f"{seen} names {leaked}")
    assert not wrong, "\n".join(wrong)


def _pdf_text(data: bytes) -> str:
    import io

    import pypdf

    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages).replace("\n", "")


def test_lists_of_documents_and_talks_are_refused_and_scoped_as_the_worklist_is(site):
    """Not a reader at all: refused (403); a violation or unit out of reach: it does not exist (404);
    a town or county code lists the documents and talks of its villages in the reader's scope."""
    _app, ids, _keys, w = site
    with w.sessions() as session:
        for listing in (notices.documents, talks.talks):
            for user in ("shangtang.cadre", "shangtang.chair", "admin"):
                with pytest.raises(PermissionDenied) as refused:
                    listing(session, user)
                assert refused.value.code == "policy.denied", (listing, user)
            for user in ("xiatang.supervisor", "xiling.discipline"):
                with pytest.raises(NotFound) as hidden:
                    listing(session, user, violation_id=ids["red"])
                assert hidden.value.code == "violation.not_found", (listing, user)
            with pytest.raises(NotFound):
                listing(session, "dongxi.discipline", violation_id=999_999)
            for user, unit in (("dongxi.discipline", "QX0201"), ("shangtang.supervisor", "QX0201")):
                with pytest.raises(NotFound):
                    listing(session, user, village=unit)
            assert {row.village for row in listing(session, "county.discipline", village="QX02")} == {"QX0201"}
            assert {row.village for row in listing(session, "county.discipline", village="QX01")} == {"QX0101"}
            assert [row.village for row in listing(session, "dongxi.discipline", violation_id=ids["red"])] == [
                "QX0101"
            ]
