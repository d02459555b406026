"""Fuzz over what people and other systems send: form and start data, event logs, BPMN uploads.

Whatever arrives, the answer is a coded refusal (a :class:`PowerlistError`, a 4xx with the error body,
exit 2 with a message) or a result, never another exception, a 500 or a traceback. The runs are
derandomized and keep no example database, so every run tries the same inputs.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import PowerlistError
from tests.conftest import MINI, ROOT
from tests.support.webapp import served

SECRETARY = "shangtang.secretary"
CHAIR = "shangtang.chair"
ADMIN = "admin"
FOUR = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"


def fuzz(examples: int):
    """Deterministic: the same examples on every run, nothing remembered between runs."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    )


# --- values -------------------------------------------------------------------------------------

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
TEXT = st.text(st.characters(codec=None, exclude_categories=()) | SURROGATES, max_size=12) | st.sampled_from(
    ["", " ", "字" * 300, "\x00", "2026-02-30", "1e400", "NaN", "<script>", "'; drop table users; --"]
)
NUMBERS = (
    st.integers(min_value=-(10**20), max_value=10**20)
    | st.sampled_from([10**400, -(10**4000), 2**53 + 1, 2**63, 10**12 + 1, -1, 0])
    | st.floats(allow_nan=True, allow_infinity=True)
)
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT


def _nested(depth: int) -> object:
    value: object = "底"
    for level in range(depth):
        value = [value] if level % 2 else {"x": value}
    return value


NESTED = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
VALUES = st.one_of(SCALARS, SCALARS, NESTED, st.integers(min_value=60, max_value=400).map(_nested))

PROPOSE = {"subject": st.text(min_size=2, max_size=8) | TEXT, "amount_fen": NUMBERS | VALUES}
RESOLVE = {name: NUMBERS | VALUES for name in ("members", "present", "votes_for", "votes_against", "abstain")}
START = {"title": st.text(min_size=2, max_size=8) | TEXT}


def form_data(fields: dict[str, st.SearchStrategy]):
    """The form's own fields with any values, often plausible ones, sometimes with strangers added;
    sometimes not a dict at all."""
    plausible = st.fixed_dictionaries({}, optional=fields)
    strangers = st.dictionaries(st.sampled_from(sorted(fields)) | TEXT, VALUES, max_size=4)
    mixed = st.tuples(plausible, strangers).map(lambda pair: {**pair[1], **pair[0]})
    return st.one_of(plausible, plausible, mixed, VALUES)


# --- form and start data through the engine commands -------------------------------------------


@pytest.fixture
def village(demo_org):
    from engine import api

    with demo_org() as session, session.begin():
        api.deploy_file(session, MINI, ADMIN)
    return demo_org


def _refused_or_done(run) -> None:
    """Run an engine command: it either acts or refuses with a coded, printable PowerlistError."""
    try:
        run()
    except PowerlistError as exc:
        assert getattr(exc, "code", None) and str(exc), repr(exc)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_fuzz_start_and_form_data_get_a_coded_answer(village):
    from engine.workspace import operations

    with village() as session, session.begin():
        started = operations.start(session, "mini_decision", "QX0101", SECRETARY, {}, "修缮村道")
    task = started.opened[0]["id"]
    with village() as session, session.begin():
        proposed = operations.start(session, "mini_decision", "QX0101", SECRETARY, {}, "硬化村道")
        done = operations.complete(session, proposed.opened[0]["id"], SECRETARY, {"subject": "修路", "amount_fen": 5})
    vote = done.opened[0]["id"]

    @fuzz(100)
    @given(data=form_data(START), title=st.none() | TEXT)
    def start(data, title):
        with village() as session:
            session.begin()
            try:
                _refused_or_done(lambda: operations.start(session, "mini_decision", "QX0101", SECRETARY, data, title))
            finally:
                session.rollback()

    @fuzz(100)
    @given(data=form_data(PROPOSE), waive=st.none() | TEXT, key=st.none() | TEXT)
    def propose(data, waive, key):
        with village() as session:
            session.begin()
            try:
                _refused_or_done(lambda: operations.complete(session, task, SECRETARY, data, None, waive, key))
            finally:
                session.rollback()

    @fuzz(100)
    @given(data=form_data(RESOLVE), waive=st.none() | TEXT)
    def resolve(data, waive):
        with village() as session:
            session.begin()
            try:
                _refused_or_done(lambda: operations.complete(session, vote, CHAIR, data, None, waive))
            finally:
                session.rollback()

    start()
    propose()
    resolve()


# --- CSV and XES event logs ---------------------------------------------------------------------

XES_EVENT = '<event><string key="concept:name" value="{activity}"/><date key="time:timestamp" value="{time}"/></event>'
XES_TRACE = '<trace><string key="concept:name" value="{case}"/>{events}</trace>'
XES_LOG = '<?xml version="1.0" encoding="{encoding}"?>\n<log xmlns="http://www.xes-standard.org/">{traces}</log>'
WORDS = st.text(st.characters(categories=["L", "N", "P", "Zs"]), max_size=10)
ACTIVITIES = st.sampled_from(["提议", "商议", "决议", "propose", "review", "开会", ""]) | WORDS | TEXT
TIMES = st.sampled_from(["2026-03-03T09:00:00+08:00", "2026/3/3 9:00", "2026年3月3日 9时", "9999-12-31T23:59:59-23:59"])
TIMES = TIMES | st.sampled_from(["0001-01-01", "2026-13-01", "", "yesterday", "2026-03-03T25:00"]) | TEXT
ENCODINGS = st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "gb18030", "gb18030", "utf-16", "latin-1", "ascii"])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="surrogatepass" if encoding.startswith("utf") else "replace")


@st.composite
def xes_files(draw) -> bytes:
    traces = draw(
        st.lists(st.tuples(WORDS | TEXT, st.lists(st.tuples(ACTIVITIES, TIMES), max_size=4)), min_size=1, max_size=3)
    )
    encoding = draw(ENCODINGS)
    text = XES_LOG.format(
        encoding=encoding.removesuffix("-sig"),
        traces="".join(
            XES_TRACE.format(
                case=_escape(case),
                events="".join(XES_EVENT.format(activity=_escape(a), time=_escape(t)) for a, t in events),
            )
            for case, events in traces
        ),
    )
    return _mutate(draw, _encode(text, encoding))


@st.composite
def csv_files(draw) -> bytes:
    header = draw(
        st.sampled_from(["case,activity,timestamp,resource", "案件编号;环节;完成时间", "编号\t活动\t时间\t办理人"])
        | st.lists(TEXT, min_size=1, max_size=4).map(",".join)
    )
    delimiter = max((",", ";", "\t"), key=header.count)
    rows = draw(st.lists(st.lists(WORDS | ACTIVITIES | TIMES, max_size=5), max_size=6))
    quote = draw(st.sampled_from(["", '"']))
    body = "\n".join(delimiter.join(f"{quote}{cell}{quote}" for cell in row) for row in rows)
    content = _encode(draw(st.sampled_from(["", "# exported\n"])) + header + "\n" + body, draw(ENCODINGS))
    return _mutate(draw, content)


def _mutate(draw, content: bytes) -> bytes:
    """The file as made, or with a slice cut out, bytes put in, or cut short."""
    how = draw(st.sampled_from(["none", "none", "cut", "insert", "truncate"]))
    if how == "none" or not content:
        return content
    at = draw(st.integers(min_value=0, max_value=len(content) - 1))
    if how == "cut":
        return content[:at] + content[at + draw(st.integers(min_value=1, max_value=40)) :]
    if how == "insert":
        return content[:at] + draw(st.binary(min_size=1, max_size=12)) + content[at:]
    return content[:at]


@pytest.fixture(scope="module")
def four():
    from engine.audit.reference_model import compile_model
    from engine.definitions.validate import load_definition_file

    d = load_definition_file(FOUR).definition
    return compile_model(d.spec, d.subprocess_specs, d.steps, d.key)


def _read_log(reader, content: bytes, model, **options) -> None:
    """Read a log and check it as the CLI and the auditor pages do; a file that cannot be read at all
    is refused as a whole (LogUnreadable), anything else is read with its bad rows reported."""
    from engine.audit.conformance import check_log
    from engine.audit.logs import LogUnreadable
    from engine.audit.mapping import ActivityMapper

    try:
        result = reader(io.BytesIO(content), ActivityMapper(model), **options)
    except LogUnreadable as exc:
        assert str(exc)
        return
    summary = result.summary()
    assert summary.read >= summary.used + summary.skipped
    assert summary.rejected == result.rejected_count >= len(result.rejected)
    for rejected in result.rejected:
        assert str(rejected)
    check_log(result.log, model).summary()


@fuzz(150)
@given(content=csv_files() | st.binary(max_size=300), ended=st.booleans())
def test_fuzz_csv_logs_are_read_or_refused_as_a_whole(four, content, ended):
    from engine.audit.logs import read_csv

    _read_log(read_csv, content, four, ended=ended)


@fuzz(150)
@given(content=xes_files() | st.binary(max_size=300), ended=st.booleans())
def test_fuzz_xes_logs_are_read_or_refused_as_a_whole(four, content, ended):
    from engine.audit.logs import read_xes

    _read_log(read_xes, content, four, ended=ended)


# --- BPMN uploads -------------------------------------------------------------------------------

FLOWS = [MINI, FOUR, ROOT / "processes" / "small_works" / "small_works.bpmn"]
FLOW_TEXT = {path: path.read_bytes() for path in FLOWS}
FLOW_FORMS = {
    path: {f"forms/{form.name}": form.read_bytes() for form in sorted((path.parent / "forms").glob("*.json"))}
    for path in FLOWS
}
ATTRIBUTE_VALUES = st.sampled_from(["", "P3D", "P-1D", "PT0S", "forms/none.json", "../../etc/passwd", "a or b"])
ATTRIBUTE_VALUES = ATTRIBUTE_VALUES | st.sampled_from(["${x}", "1/0", "__import__('os')", "amount_fen > 10**400"])
ATTRIBUTE_VALUES = ATTRIBUTE_VALUES | WORDS


@st.composite
def bpmn_uploads(draw) -> tuple[bytes, dict[str, bytes]]:
    """A shipped flow with its forms, one element removed, copied or renamed, one attribute or text
    changed, one form broken, or the bytes cut."""
    from lxml import etree

    path = draw(st.sampled_from(FLOWS))
    forms = dict(FLOW_FORMS[path])
    root = etree.fromstring(FLOW_TEXT[path])
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        element = draw(st.sampled_from(elements))
        how = draw(st.sampled_from(["remove", "copy", "rename", "attribute", "text", "form"]))
        parent = element.getparent()
        if how == "remove" and parent is not None:
            parent.remove(element)
            elements = [e for e in root.iter() if isinstance(e.tag, str)]
        elif how == "copy" and parent is not None:
            parent.append(etree.fromstring(etree.tostring(element)))
        elif how == "rename":
            namespace = element.tag.rpartition("}")[0] + "}" if "}" in element.tag else ""
            element.tag = namespace + draw(st.sampled_from(["userTask", "task", "scriptTask", "exclusiveGateway", "x"]))
        elif how == "attribute":
            names = sorted(element.attrib) or ["id"]
            element.set(draw(st.sampled_from(names)), draw(ATTRIBUTE_VALUES))
        elif how == "text":
            element.text = draw(ATTRIBUTE_VALUES)
        elif forms:
            name = draw(st.sampled_from(sorted(forms)))
            forms[name] = _mutate(draw, forms[name]) if draw(st.booleans()) else json.dumps(draw(VALUES)).encode()
    content = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        content = _mutate(draw, content)
    return content, forms


@fuzz(60)
@given(upload=bpmn_uploads())
def test_fuzz_bpmn_uploads_get_a_report_never_a_crash(upload):
    from engine.definitions.validate import validate_bpmn

    content, forms = upload
    report = validate_bpmn(content, "upload.bpmn", forms)
    assert report.ok == (report.definition is not None) == (not report.problems)
    crashes = [str(p) for p in report.problems if p.code == "internal-error"]
    assert not crashes, crashes
    for problem in report.problems:
        assert problem.code and problem.message
    if report.ok:  # the preview page draws it: from its DI, or laid out when the DI is unusable
        from engine.diagram import DiagramUnavailable, diagram_of, render_svg

        try:
            assert "<svg" in render_svg(diagram_of(content))
        except DiagramUnavailable:
            pass


# --- the web upload endpoints -------------------------------------------------------------------


@pytest.fixture
def app(village, db_url, tmp_path):
    yield from served(db_url, tmp_path)


@pytest.fixture
def web(village, app):
    """A signed-in administrator's client and bearer token, and a signed-in auditor's client."""
    from engine.workspace import tokens

    with village() as session, session.begin():
        token = tokens.create(session, ADMIN, "fuzz", None)
    admin, auditor = app.test_client(), app.test_client()
    for client, user in ((admin, ADMIN), (auditor, "county.auditor")):
        assert client.post("/login", data={"username": user, "password": "powerlist-demo"}).status_code == 302
    return admin, auditor, {"Authorization": f"Bearer {token}"}


def _files(content: bytes, forms: dict[str, bytes], name: str) -> list[tuple[io.BytesIO, str]]:
    return [(io.BytesIO(content), name)] + [(io.BytesIO(body), path) for path, body in forms.items()]


def _error_body(answer) -> dict:
    error = answer.get_json()["error"]
    assert error["code"] and error["message"], error
    return error


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_fuzz_web_uploads_answer_4xx_never_500(web):
    admin, auditor, bearer = web

    @fuzz(25)
    @given(upload=bpmn_uploads(), name=st.sampled_from(["flow.bpmn", "flow.xml", "流程.bpmn", "flow.zip", "x.txt"]))
    def flows(upload, name):
        content, forms = upload
        answer = admin.post("/api/v1/definitions", data={"files": _files(content, forms, name)}, headers=bearer)
        assert answer.status_code in (200, 400), answer.get_data(as_text=True)[:500]
        if answer.status_code == 400:
            assert _error_body(answer)["code"] in ("definition.invalid", "error")
        page = admin.post("/admin/flows/upload", data={"files": _files(content, forms, name)})
        assert page.status_code in (200, 400), page.get_data(as_text=True)[:500]

    @fuzz(15)
    @given(
        content=csv_files() | xes_files() | st.binary(max_size=200),
        name=st.sampled_from(["log.csv", "log.xes", "log.csv.gz", "log.xes.gz", "日志.txt", "log"]),
        fmt=st.sampled_from(["", "csv", "xes", "pdf"]),
        column=st.sampled_from(["", "case", "9", "字" * 150]),
    )
    def logs(content, name, fmt, column):
        data = {"flow": "mini_decision", "format": fmt, "case_column": column, "log": (io.BytesIO(content), name)}
        answer = auditor.post("/audit/conformance/upload", data=data)
        assert answer.status_code in (302, 400, 413), answer.get_data(as_text=True)[:500]
        if answer.status_code == 302:
            _job_ends_without_an_unexpected_error(auditor, answer.headers["Location"])

    flows()
    logs()


def _job_ends_without_an_unexpected_error(client, location: str) -> None:
    import time

    for _ in range(200):
        state = client.get(location.rstrip("/") + "/status").get_json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.02)
    page = client.get(location)
    assert page.status_code == 200
    assert "unexpected error" not in page.get_data(as_text=True)


# --- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_command_line_refuses_bad_files_with_exit_2(cli, village, tmp_path):
    """A few hostile files through the installed ``powerlist`` command: exit 2, a message, no traceback
    (the ``cli`` fixture fails on any traceback)."""
    bad_bpmn = tmp_path / "bad.bpmn"
    bad_bpmn.write_bytes(FLOW_TEXT[MINI][:700] + b"\xff\xfe<bpmn:userTask id=")
    result = cli("validate", str(bad_bpmn))
    assert result.code == 2 and "bad.bpmn" in result.out + result.err

    for name, content in (
        ("log.csv", "案件编号,环节,完成时间\n1,提议,2026-13-45\n".encode("utf-16")),
        ("log.csv", b"\x00\x01\x02" * 50),
        ("log.xes", b'<?xml version="1.0"?><!DOCTYPE log [<!ENTITY a "b">]><log>&a;</log>'),
        ("log.xes", b"<log><trace><event>"),
        ("log.csv.gz", b"\x1f\x8b\x08\x00 not gzip"),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        result = cli("audit", "conformance", "mini_decision", "--log", str(path))
        assert result.code == 2, (name, result.code, result.out, result.err)
        assert result.err.strip(), name
