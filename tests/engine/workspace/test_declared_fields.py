"""A step writes only the fields its form declares, and a matter starts with only its start form's.

Random extra keys (any text, and names the flows use as variables: amounts, counts of failed checks,
votes, ``attachments``, ``title``…) added to valid form data or start data are always refused with
a ``FormInvalid`` naming each of them, by ``engine.workspace.operations.complete`` and ``.start``,
and nothing is written: no history, no step opened or closed, no matter, no upload claimed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine.catalog.examples import examples_path, load_examples
from tests.conftest import DATABASES, MINI, ROOT, fresh_database
from tests.support.world import demo_county, new_database

FOUR = ROOT / "processes" / "four_deliberations" / "four_deliberations.bpmn"
FUND = ROOT / "processes" / "fund_payment" / "fund_payment.bpmn"
RECTIFICATION = ROOT / "processes" / "rectification" / "rectification.bpmn"
SECRETARY = "shangtang.secretary"
CHAIR = "shangtang.chair"
CADRE = "shangtang.cadre"
SUPERVISOR = "shangtang.supervisor"

# Names the shipped flows keep as variables: what gateways route on, what scripts and rules count.
FLOW_VARIABLES = [
    "amount_fen",
    "estimated_amount_fen",
    "failed_checks",
    "passed",
    "approved",
    "votes_for",
    "votes_against",
    "present",
    "members",
    "abstain",
    "attachments",
    "title",
    "tier",
    "escalated",
    "check_result",
    "owner_role",
    "violation_code",
    "signoff_approved",
    "reason",
    "waived",
    "form",
    "rule",
    "now",
    "__class__",
    "_private",
    "Title",
    "amount_fen ",
    "amount_fen\n",
]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
KEYS = st.one_of(
    st.sampled_from(FLOW_VARIABLES),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,63}", fullmatch=True),
    st.text(max_size=80),
)
EXTRAS = st.dictionaries(KEYS, VALUES, min_size=1, max_size=4)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def example(flow, name: str):
    return next(p for p in load_examples(examples_path(flow)) if p.name == name)


def step_data(flow, name: str, step: str) -> dict[str, Any]:
    return dict(next(s.data for s in example(flow, name).steps if s.step == step))


@dataclass(frozen=True)
class OpenStep:
    """An open step with valid form data and, for its required attachment slots, the doer's uploads."""

    name: str
    task: str
    actor: str
    data: dict[str, Any]
    files: dict[str, list[int]]
    declared: frozenset[str]


@dataclass(frozen=True)
class Start:
    name: str
    key: str
    actor: str
    data: dict[str, Any]
    declared: frozenset[str]  # the start form's fields, and the title


@dataclass
class World:
    sessions: Any
    steps: list[OpenStep]
    starts: list[Start]


@pytest.fixture(scope="module", params=DATABASES)
def fields_db(request, tmp_path_factory) -> Iterator[str]:
    with fresh_database(request.param, tmp_path_factory.mktemp("fields")) as url:
        yield url


def _declared(schema: dict[str, Any] | None) -> frozenset[str]:
    return frozenset((schema or {}).get("properties") or {})


def _open_step(sessions, name: str, instance_id: int, actor: str, data: dict[str, Any]) -> OpenStep:
    from engine.persistence.models import Matter, OpenTask
    from engine.runtime.loaded import loaded
    from tests.support.files import required_files

    with sessions() as session, session.begin():
        (row,) = session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id)).all()
        definition = loaded(session.get(Matter, instance_id).definition)
        schema, _text = definition.form(definition.step(row.step_id))
        files = required_files(session, row.id, actor)
        return OpenStep(name, row.id, actor, data, files, _declared(schema))


@pytest.fixture(scope="module")
def fields_world(fields_db, tmp_path_factory) -> Iterator[World]:
    from engine.definitions.deploy import latest_version
    from engine.runtime.loaded import loaded
    from engine.workspace import operations
    from tests.support import files
    from tests.support.matters import cited_data

    instance = tmp_path_factory.mktemp("fields-instance")
    saved = os.environ.get("POWERLIST_INSTANCE")
    os.environ["POWERLIST_INSTANCE"] = str(instance)  # where the sample uploads go
    engine, sessions = new_database(fields_db)
    demo_county(sessions, MINI, FOUR, FUND, RECTIFICATION)
    resolve = {"members": 5, "present": 5, "votes_for": 4, "votes_against": 1, "abstain": 0}
    with sessions() as session, session.begin():
        mini = operations.start(session, "mini_decision", "QX0101", SECRETARY, {}, "修缮村道")
        operations.complete(session, mini.opened[0]["id"], SECRETARY, {"subject": "修缮村道", "amount_fen": 500000})
        four = operations.start(session, "four_deliberations", "QX0101", SECRETARY, {}, "村道硬化")
        files.complete(session, four.opened[0]["id"], SECRETARY, step_data(FOUR, "happy", "propose"))
        fund = operations.start(session, "fund_payment", "QX0101", CADRE, {}, "路灯")
        rectification_start = example(RECTIFICATION, "chair_rectifies").start
        rect = operations.start(session, "rectification", "QX0101", SUPERVISOR, rectification_start)
        files.complete(
            session,
            rect.opened[0]["id"],
            CHAIR,
            step_data(RECTIFICATION, "chair_rectifies", "submit_committee_chair"),
        )
    steps = [
        _open_step(sessions, "mini 决议", mini.instance_id, CHAIR, resolve),
        _open_step(sessions, "四议两公开 两委会商议", four.instance_id, SECRETARY, step_data(FOUR, "happy", "discuss")),
        _open_step(
            sessions, "资金支付 报账", fund.instance_id, CADRE,
            cited_data(sessions, example(FUND, "tier4_town_leader"), "voucher", "QX0101"),
        ),  # fmt: skip
        _open_step(
            sessions, "整改 验收", rect.instance_id, SUPERVISOR, step_data(RECTIFICATION, "chair_rectifies", "check")
        ),
    ]
    starts = []
    with sessions() as session:
        for key, actor, data in (
            ("mini_decision", CHAIR, {}),
            ("four_deliberations", SECRETARY, {}),
            ("rectification", SUPERVISOR, rectification_start),
        ):
            schema, _text = loaded(latest_version(session, key)).start_form()
            starts.append(Start(key, key, actor, dict(data), _declared(schema) | {"title"}))
    try:
        yield World(sessions, steps, starts)
    finally:
        engine.dispose()
        if saved is None:
            os.environ.pop("POWERLIST_INSTANCE", None)
        else:
            os.environ["POWERLIST_INSTANCE"] = saved


def written(fields_world: World) -> tuple:
    """Everything a step or a start would write."""
    from engine.persistence.models import HistoryEvent, Matter, OpenTask
    from engine.workspace.models import Attachment

    with fields_world.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Matter)),
            session.scalar(select(func.count()).select_from(HistoryEvent)),
            sorted(tuple(row) for row in session.execute(select(OpenTask.id, OpenTask.assignee))),
            sorted(tuple(row) for row in session.execute(select(Attachment.id, Attachment.instance_id))),
            sorted(tuple(row) for row in session.execute(select(Matter.id, Matter.revision))),
        )


def refused_fields(error) -> set[str]:
    return {e.field for e in error.errors}


def refused_by_name(error, extras: dict) -> bool:
    """The refusal names every extra key (a form refusal), or names one of them as the value that
    broke the input limits (``data.<key>…``): either way a key the form does not take."""
    from engine.inputs import InputInvalid

    if isinstance(error, InputInvalid):
        path = str(error.field or "")
        key = re.split(r"[.\[]", path.removeprefix("data."), maxsplit=1)[0]
        return path.startswith("data.") and any(named(k).startswith(key) or key == named(k) for k in extras)
    return {named(key) for key in extras} <= refused_fields(error)


def named(key: str) -> str:
    """How a refusal names a key (long or odd keys are cut to 64 characters)."""
    return str(key)[:64]


def test_the_valid_data_alone_is_accepted(fields_world):
    """The data each property adds keys to is valid: without the extra keys the step would be done."""
    from engine.workspace import operations

    for step in fields_world.steps:
        with fields_world.sessions() as session:
            session.begin()
            try:
                operations.complete(session, step.task, step.actor, dict(step.data), dict(step.files))
            finally:
                session.rollback()
    for start in fields_world.starts:
        with fields_world.sessions() as session:
            session.begin()
            try:
                operations.start(session, start.key, "QX0101", start.actor, dict(start.data), "核对事项")
            finally:
                session.rollback()


@SETTINGS
@given(index=st.integers(min_value=0, max_value=3), extras=EXTRAS)
def test_extra_keys_in_form_data_are_refused_by_name(fields_world, index, extras):
    from engine.errors import FormInvalid
    from engine.inputs import InputInvalid
    from engine.workspace import operations

    step = fields_world.steps[index % len(fields_world.steps)]
    extras = {key: value for key, value in extras.items() if key not in step.declared}
    assume(extras)
    before = written(fields_world)
    with pytest.raises((FormInvalid, InputInvalid)) as refused:
        with fields_world.sessions() as session, session.begin():
            operations.complete(session, step.task, step.actor, {**step.data, **extras}, dict(step.files))
    assert refused_by_name(refused.value, extras), (step.name, refused.value)
    assert written(fields_world) == before


@SETTINGS
@given(index=st.integers(min_value=0, max_value=2), extras=EXTRAS)
def test_extra_keys_in_start_data_are_refused_by_name(fields_world, index, extras):
    from engine.errors import FormInvalid
    from engine.inputs import InputInvalid
    from engine.workspace import operations

    start = fields_world.starts[index % len(fields_world.starts)]
    extras = {key: value for key, value in extras.items() if key not in start.declared}
    assume(extras)
    before = written(fields_world)
    with pytest.raises((FormInvalid, InputInvalid)) as refused:
        with fields_world.sessions() as session, session.begin():
            operations.start(session, start.key, "QX0101", start.actor, {**start.data, **extras}, "核对事项")
    assert refused_by_name(refused.value, extras), (start.name, refused.value)
    assert written(fields_world) == before
