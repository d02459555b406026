"""Input limits: the one JSON reader of the command line and the API refuses what no command takes.

Before it, NaN, Infinity, 1e400, lone surrogates, 5,000-digit integers, 200k-deep JSON and a
non-UTF-8 ``@file`` ended in a traceback (CLI) or a 500 (API); 1e308 and 400-digit integers passed
as amounts, a 20 MB string reached the history and ``--data null`` started a matter.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.inputs import InputInvalid, check_value, limit, read_json, read_object
from tests.conftest import MINI
from tests.support.webapp import served

SECRETARY = "shangtang.secretary"
HUGE = "1" + "0" * 5000

# (JSON text, code, field)
REFUSED = [
    ("NaN", "input.not_finite", "data"),
    ('{"a": NaN}', "input.not_finite", "data.a"),
    ('{"a": [1, Infinity]}', "input.not_finite", "data.a[1]"),
    ('{"a": -Infinity}', "input.not_finite", "data.a"),
    ('{"a": 1e400}', "input.not_finite", "data.a"),
    ('{"a": "\\ud800"}', "input.surrogate", "data.a"),
    ('{"\\udfff": 1}', "input.surrogate", "data.\udfff"),
    ('{"a": ' + HUGE + "}", "input.integer_too_large", "data.a"),
    ('{"a": -' + HUGE + "}", "input.integer_too_large", "data.a"),
    ('{"a": ' + "9" * 400 + "}", "input.integer_too_large", "data.a"),
    ('{"amount_fen": ' + "9" * 400 + "}", "input.amount_too_large", "data.amount_fen"),
    ('{"amount_fen": 1e308}', "input.amount_too_large", "data.amount_fen"),
    ('{"amount_fen": 1000000000001}', "input.amount_too_large", "data.amount_fen"),
    ('{"items": [{"price_fen": 1e13}]}', "input.amount_too_large", "data.items[0].price_fen"),
    ('{"a": 1e308}', "input.integer_too_large", "data.a"),
    ('{"a": 9007199254740993}', "input.integer_too_large", "data.a"),
    ("[" * 200_000, "input.too_deep", "data"),
    ("[" * 65 + "]" * 65, "input.too_deep", "data" + "[0]" * 64),
    ('{"a": "' + "字" * 100_001 + '"}', "input.string_too_long", "data.a"),
    ('{"' + "k" * 201 + '": 1}', "input.string_too_long", "data." + "k" * 201),
    ('{"a": 1', "input.not_json", "data"),
    ('"' + "x" * 2_000_001 + '"', "input.too_large", "data"),
]


@pytest.mark.parametrize(("text", "code", "field"), REFUSED, ids=[c[1] + f"-{i}" for i, c in enumerate(REFUSED)])
def test_the_reader_refuses_naming_the_field(text, code, field):
    with pytest.raises(InputInvalid) as caught:
        read_json(text)
    assert caught.value.code == code
    assert caught.value.field == (field if len(field) <= 200 else caught.value.field)
    assert caught.value.exit_code == 2


def test_the_reader_takes_what_is_within_the_limits():
    text = json.dumps(
        {
            "amount_fen": 10**12,
            "votes": 2**53,
            "ratio": 0.5,
            "subject": "字" * 100_000,
            "nested": [[[[{"ok": None, "yes": True}]]]],
            "emoji": "村道😀",
        },
        ensure_ascii=False,
    )
    value = read_object(text)
    assert value["amount_fen"] == 10**12 and value["subject"] == "字" * 100_000
    assert read_json("[" * 64 + "]" * 64) == json.loads("[" * 64 + "]" * 64)
    assert read_object(None) == {}
    assert read_object(b"\xef\xbb\xbf{}") == {}  # a UTF-8 file with a BOM


@pytest.mark.parametrize("text", ["null", "[1]", "3", '"x"', "true"])
def test_only_an_object_is_data(text):
    with pytest.raises(InputInvalid) as caught:
        read_object(text)
    assert caught.value.code == "input.not_object"


def test_bytes_that_are_not_utf8_name_the_file():
    with pytest.raises(InputInvalid) as caught:
        read_object(b'{"a": "\xff"}', source="form.json")
    assert caught.value.code == "input.not_utf8" and caught.value.field == "form.json"
    assert "form.json" in str(caught.value)


def test_the_limits_are_rule_data():
    assert limit("max_depth") == 64
    assert limit("max_amount_fen") == 10**12
    assert limit("max_integer") == 2**53
    assert limit("max_string_chars") == 100_000


# --- a small fuzz over the reader -----------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def _within_limits(value, depth: int = 0, amount: bool = False) -> bool:
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, str):
        return not any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, int | float):
        return math.isfinite(value) and abs(value) <= (10**12 if amount else 2**53)
    if depth >= 64:
        return False
    if isinstance(value, list):
        return all(_within_limits(v, depth + 1, amount) for v in value)
    return all(_within_limits(k) and _within_limits(v, depth + 1, k.endswith("_fen")) for k, v in value.items())


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(JSON_VALUES)
def test_fuzz_every_value_is_taken_whole_or_refused(value):
    text = json.dumps(value)  # NaN, Infinity and lone surrogates (as \\u escapes) included
    try:
        read = read_json(text)
    except InputInvalid as exc:
        assert not _within_limits(value), (value, exc.code)
        assert exc.code.startswith("input.") and exc.field
        return
    assert _within_limits(value)
    assert read == value or json.dumps(read) == text  # nothing cut or changed


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_fuzz_arbitrary_text_never_escapes_as_another_error(raw):
    try:
        check_value(read_json(raw))
    except InputInvalid as exc:
        assert exc.code.startswith("input.")


# --- the command line, through the installed entry point -------------------------------------------


@pytest.fixture
def village(demo_org):
    from engine import api

    with demo_org() as session, session.begin():
        api.deploy_file(session, MINI, "admin")
    return demo_org


def _matters(sessions) -> int:
    from sqlalchemy import func, select

    from engine.persistence.models import Matter

    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Matter))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("NaN", "data"),
        ('{"a": 1e400}', "data.a"),
        ('{"a": "\\ud800"}', "data.a"),
        ('{"a": ' + HUGE + "}", "data.a"),
        ("null", "JSON 对象"),
        ("[" * 20_000 + "]" * 20_000, "data"),
    ],
    ids=["nan", "1e400", "surrogate", "5000-digits", "null", "deep"],
)
def test_cli_refuses_bad_start_data_with_exit_2(cli, data, words):
    """Refused before the database is opened: this database was never set up (exit 1 if it were)."""
    result = cli("start", "mini_decision", "--village", "QX0101", "--as", SECRETARY, "--data", data)
    assert result.code == 2, result.err
    assert words in result.err


def test_cli_refuses_bad_files_titles_and_ids(cli, village, tmp_path):
    bad = tmp_path / "表单.json"
    bad.write_bytes(b'{"subject": "\xff\xfe"}')
    start = ("start", "mini_decision", "--village", "QX0101", "--as", SECRETARY)
    result = cli(*start, "--data", f"@{bad}")
    assert result.code == 2 and "表单.json" in result.err and "UTF-8" in result.err

    result = cli(*start, "--title", "村" * 101)
    assert result.code == 2 and "--title" in result.err and "100" in result.err
    assert _matters(village) == 0

    result = cli(*start, "--title", "村道\udcff硬化")  # a non-UTF-8 byte on the command line
    assert result.code == 2 and "--title" in result.err
    assert _matters(village) == 0


def test_cli_refuses_ids_beyond_the_database(cli):
    assert cli("history", str(2**63)).code == 2
    assert cli("complete", "9" * 40, "--as", SECRETARY, "--data", "{}").code == 2


def test_cli_refuses_an_amount_beyond_the_maximum(cli, village):
    started = cli("start", "mini_decision", "--village", "QX0101", "--as", SECRETARY, "--json", check=True).json()
    task = started["opened"][0]["id"]
    for amount in ("1e308", "9" * 400):
        result = cli("complete", task, "--as", SECRETARY, "--data", f'{{"subject": "修路", "amount_fen": {amount}}}')
        assert result.code == 2, result.err
        assert "data.amount_fen" in result.err


# --- the API, through the Flask test client ----------------------------------------------------------


@pytest.fixture
def api(mini_world, app):
    from engine.workspace import tokens as api_tokens

    with mini_world() as session, session.begin():
        token = api_tokens.create(session, SECRETARY, "test", None)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def post(path: str, raw: str | bytes):
        return client.post(path, data=raw, headers=headers, content_type="application/json")

    def get(path: str):
        return client.get(path, headers=headers)

    return post, get


@pytest.fixture
def app(mini_world, db_url, tmp_path):
    yield from served(db_url, tmp_path)


START = '{"key": "mini_decision", "village": "QX0101", "title": "村道硬化", "data": %s}'


def test_api_answers_400_naming_the_field(api, mini_world):
    post, get = api
    cases = [
        (START % "NaN", "input.not_finite", "data"),
        (START % '{"a": Infinity}', "input.not_finite", "data.a"),
        (START % '{"a": 1e400}', "input.not_finite", "data.a"),
        (START % '{"a": "\\udc80"}', "input.surrogate", "data.a"),
        (START % HUGE, "input.integer_too_large", "data"),
        (START % '{"amount_fen": 1e308}', "input.amount_too_large", "data.amount_fen"),
        (START % "null", "", "data"),
        ("[" * 200_000, "input.too_deep", "body"),
        ('{"key": "mini_decision", "title": "' + "x" * 100_001 + '"}', "input.string_too_long", "title"),
        (b'{"key": "\xff"}', "input.not_utf8", "body"),
        (
            '{"key": "mini_decision", "village": "QX0101", "data": {"s": "' + "x" * 20_000_000 + '"}}',
            "input.too_large",
            "body",
        ),
    ]
    for raw, code, field in cases:
        answer = post("/api/v1/matters", raw)
        assert answer.status_code == 400, (raw[:60], answer.status_code)
        error = answer.get_json()["error"]
        assert set(error) >= {"code", "message", "field"}
        if code:
            assert (error["code"], error["field"]) == (code, field), raw[:60]
    assert _matters(mini_world) == 0


def test_api_ids_beyond_the_database_answer_404(api):
    _post, get = api
    for number in ("9" * 30, str(2**63), str(2**31)):
        assert get(f"/api/v1/matters/{number}").status_code == 404
    assert _post(f"/api/v1/approvals/{2**31}/decide", '{"agree": true}').status_code == 404


def test_api_takes_good_input(api, mini_world):
    post, get = api
    answer = post("/api/v1/matters", START % "{}")
    assert answer.status_code == 201, answer.get_json()
    task = answer.get_json()["opened"][0]["id"]
    refused = post(f"/api/v1/tasks/{task}/complete", '{"data": {"subject": "修路", "amount_fen": 1e308}}')
    assert refused.status_code == 400
    assert refused.get_json()["error"]["field"] == "data.amount_fen"
    done = post(f"/api/v1/tasks/{task}/complete", '{"data": {"subject": "修路", "amount_fen": 500000}}')
    assert done.status_code == 200, done.get_json()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_engine_command_applies_the_limits_whichever_way_the_data_came(village):
    """A page's form post never passes the JSON reader: the command itself applies the same limits."""
    from engine.workspace import operations

    with village() as session, session.begin():
        started = operations.start(session, "mini_decision", "QX0101", "shangtang.secretary", {}, "修缮村道")
    task = started.opened[0]["id"]
    with pytest.raises(InputInvalid) as caught, village() as session, session.begin():
        operations.complete(session, task, "shangtang.secretary", {"subject": "修缮村道", "amount_fen": 10**13})
    assert caught.value.field == "data.amount_fen" or "amount_fen" in str(caught.value)
    with village() as session, session.begin():
        operations.complete(session, task, "shangtang.secretary", {"subject": "修缮村道", "amount_fen": 10**12})


@pytest.mark.parametrize("key", ["bad key!", "short", "x" * 65, "键" * 10])
def test_a_bad_idempotency_key_is_refused_as_input_naming_its_field(key):
    from engine.workspace import idempotency

    with pytest.raises(InputInvalid) as caught:
        idempotency.check_key(key)
    assert (caught.value.code, caught.value.field, caught.value.exit_code) == (
        "input.idempotency_key",
        "idempotency_key",
        2,
    )
