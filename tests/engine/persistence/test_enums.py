"""The statuses, kinds, severities and levels the tables hold are enums: every word the rule files allow
is a member, every member fits its column, and a row reads back as the member it was written as."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import String, select, text, update
from sqlalchemy.exc import StatementError

from engine.persistence.enums import EnumText, EventKind, Level, MatterStatus
from engine.persistence.models import Base, OrgUnit
from engine.public.disclosure_models import DisclosureStatus
from engine.public.subsidy_models import RosterStatus
from engine.supervision.models import DecisionStatus, Severity, ViolationOutcome, ViolationStatus
from engine.wiring import load_models
from engine.workspace.models import ApprovalStatus

RULES = Path(__file__).resolve().parents[3] / "rules"
ENUMS = (
    MatterStatus,
    Level,
    EventKind,
    Severity,
    ViolationStatus,
    ViolationOutcome,
    ApprovalStatus,
    DecisionStatus,
    DisclosureStatus,
    RosterStatus,
)


def _values(enum: type) -> set[str]:
    return {member.value for member in enum}


def _walk(node: Any):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_the_rule_schema_allows_exactly_the_enums_words():
    schema = json.loads((RULES / "ruleset.schema.json").read_text(encoding="utf-8"))
    assert set(schema["$defs"]["severity"]["enum"]) == _values(Severity)
    level_lists = [n["enum"] for n in _walk(schema) if isinstance(n, dict) and "town" in (n.get("enum") or [])]
    assert level_lists
    assert all(set(words) == _values(Level) for words in level_lists)
    ends = [n for n in _walk(schema) if isinstance(n, dict) and "ends" in n.get("properties", {})]
    assert [set(n["properties"]["ends"]["additionalProperties"]["enum"]) for n in ends] == [_values(ViolationOutcome)]


def test_the_shipped_rules_use_only_known_severities_and_levels():
    rules = yaml.safe_load((RULES / "defaults" / "supervision.yaml").read_text(encoding="utf-8"))["supervision"]
    severities = [n["severity"] for n in _walk(rules) if isinstance(n, dict) and "severity" in n]
    assert severities and set(severities) <= _values(Severity)
    levels = [n["level"] for n in _walk(rules) if isinstance(n, dict) and "level" in n]
    assert levels and set(levels) <= _values(Level)
    starts_at = rules["escalation"]["starts_at"]
    assert set(starts_at) <= _values(Severity) and set(starts_at.values()) <= _values(Level)


def test_every_enum_column_is_plain_text_long_enough_for_its_words():
    load_models()
    columns = [c for t in Base.metadata.tables.values() for c in t.columns if isinstance(c.type, EnumText)]
    assert {c.type.enum for c in columns} == set(ENUMS)
    for column in columns:
        assert isinstance(column.type.impl_instance, String)
        assert max(len(v) for v in _values(column.type.enum)) <= column.type.length, column


def test_a_member_is_its_text():
    assert json.dumps({"status": MatterStatus.RUNNING, "kind": EventKind.TASK_COMPLETED}) == (
        '{"status": "running", "kind": "task_completed"}'
    )
    assert f"{Level.VILLAGE}" == str(Level.VILLAGE) == "village"
    assert {"red": 1}[Severity.RED] == 1


def test_a_row_reads_back_as_its_member(sessions):
    with sessions() as session, session.begin():
        session.add(OrgUnit(code="C1", name="县", level="county"))
        session.add(OrgUnit(code="C2", name="县二", level=Level.COUNTY))
    with sessions() as session:
        levels = session.scalars(select(OrgUnit.level).order_by(OrgUnit.code)).all()
        assert levels == [Level.COUNTY, Level.COUNTY]
        assert all(type(level) is Level for level in levels)
        assert session.scalar(select(OrgUnit.code).where(OrgUnit.level == "county").limit(1)) == "C1"
        stored = session.execute(text("SELECT level FROM org_unit WHERE code = 'C2'")).scalar_one()
        assert type(stored) is str and stored == "county"


def test_an_unknown_word_is_refused_both_ways(sessions):
    with sessions() as session, pytest.raises(StatementError, match="not a valid Level"):
        session.execute(update(OrgUnit).values(level="province"))
    with sessions() as session, session.begin():
        session.add(OrgUnit(code="C1", name="县", level=Level.COUNTY))
    with sessions() as session, session.begin():
        session.execute(text("UPDATE org_unit SET level = 'province'"))
    with sessions() as session, pytest.raises(ValueError, match="not a valid Level"):
        session.scalars(select(OrgUnit.level)).all()


def test_history_event_kinds_read_back_as_members(sessions):
    from engine.history import events
    from engine.persistence.models import DefinitionVersion, Matter

    now = datetime(2026, 1, 1, tzinfo=UTC)
    with sessions() as session, session.begin():
        village = OrgUnit(code="V1", name="村", level=Level.VILLAGE)
        version = DefinitionVersion(
            key="k", version=1, name="n", content_hash="h", bpmn_xml="", forms={}, spec_json="", meta={},
            deployed_at=now,
        )
        session.add_all([village, version])
        session.flush()
        instance = Matter(
            definition_version_id=version.id, village_id=village.id, state=b"", history_head=bytes(32),
            started_by="u", started_at=now,
        )
        session.add(instance)
        session.flush()
        events.append(session, instance, EventKind.INSTANCE_STARTED, at=now, state_digest=bytes(32))
        events.append(session, instance, "task_completed", at=now, state_digest=bytes(32))
        instance_id = instance.id
    with sessions() as session:
        kinds = [e.kind for e in events.events_of(session, instance_id)]
        assert kinds == [EventKind.INSTANCE_STARTED, EventKind.TASK_COMPLETED]
        assert session.get(Matter, instance_id).status is MatterStatus.RUNNING
