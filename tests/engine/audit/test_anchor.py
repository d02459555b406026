"""Daily anchors: idempotent, compact, and they catch what the hash chains alone cannot."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, text

from engine import api
from engine.audit.anchor import anchored_leaves, make_anchor, verify_anchor
from engine.audit.models import HistoryAnchor
from engine.errors import InvalidState
from engine.history.chain import GENESIS, event_hash, history_fields
from engine.persistence.models import HistoryEvent, Matter
from tests.engine.audit.conftest import T0, append_steps, drive

DAY1, DAY2 = date(2026, 3, 20), date(2026, 3, 21)


@pytest.fixture
def anchored(flow):
    first = drive(flow)
    second = drive(flow, village="QX0102", stop_after="review")
    with flow() as session, session.begin():
        anchor = make_anchor(session, DAY1)
    return flow, first, second, anchor.digest


def test_one_anchor_a_day_and_only_changes_stored(anchored):
    sessions, first, second, digest = anchored
    with sessions() as session, session.begin():
        again = make_anchor(session, DAY1)
        assert again.digest == digest and again.instance_count == 2 and again.event_count == 18 + 7
    append_steps(sessions, second, ["resolve"], "xiatang.chair", T0 + timedelta(days=4))
    with sessions() as session, session.begin():
        later = make_anchor(session, DAY2)
        assert later.digest != digest and later.changed_count == 1 and later.event_count == 26
        assert set(anchored_leaves(session)) == {first, second}
    with sessions() as session:
        check = verify_anchor(session, digest)  # events appended after the anchor are fine
        assert check.ok, str(check)
        assert str(check).startswith("ok: anchor of 2026-03-20") and "2 matters and 25 events" in str(check)
        assert verify_anchor(session, later.digest).ok
        assert verify_anchor(session, digest[:16]).ok  # a long enough prefix is accepted


def _execute(db_url: str, *statements: tuple[str, dict], bypass_keys: bool = False) -> None:
    """Run SQL as someone with direct database access; ``bypass_keys`` ignores foreign keys as such a
    person could (plain SQLite connections do not enforce them)."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        if bypass_keys and conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for sql, params in statements:
            conn.execute(text(sql), params)
    engine.dispose()


def _newest_removed_and_hidden(db_url: str, instance: int, sessions) -> None:
    """Delete the newest event and point the instance at the one before: the chain stays valid."""
    with sessions() as session:
        row = session.get(Matter, instance)
        previous = session.query(HistoryEvent).filter_by(instance_id=instance, seq=row.history_seq - 1).one()
        head, seq = previous.hash, previous.seq
    _execute(
        db_url,
        ("DELETE FROM history_event WHERE instance_id = :i AND seq = :s", {"i": instance, "s": seq + 1}),
        (
            "UPDATE process_instance SET history_seq = :s, history_head = :h WHERE id = :i",
            {"i": instance, "s": seq, "h": head},
        ),
    )


def _rewrite_chain(db_url: str, instance: int, sessions) -> None:
    """Edit an event and recompute every hash after it, head included: the chain verifies again."""
    with sessions() as session:
        events = session.query(HistoryEvent).filter_by(instance_id=instance).order_by(HistoryEvent.seq).all()
        prev, updates = GENESIS, []
        for event in events:
            data = event.data.replace("30000000", "3000000") if event.seq == 2 else event.data
            prev = event_hash(prev, **{**history_fields(event), "data": data})
            updates.append(
                ("UPDATE history_event SET data = :d, hash = :h WHERE id = :e", {"d": data, "h": prev, "e": event.id})
            )
    updates.append(("UPDATE process_instance SET history_head = :h WHERE id = :i", {"h": prev, "i": instance}))
    _execute(db_url, *updates)


@pytest.mark.parametrize("tamper", ["edit", "delete_newest", "delete_matter", "rewrite_chain", "anchor_table"])
def test_tampering_is_detected_by_the_anchor(anchored, db_url, tamper):
    sessions, first, second, digest = anchored
    if tamper == "edit":
        _execute(
            db_url, ("UPDATE history_event SET actor = 'someone' WHERE instance_id = :i AND seq = 3", {"i": first})
        )
    elif tamper == "delete_newest":
        _newest_removed_and_hidden(db_url, first, sessions)
    elif tamper == "delete_matter":
        _execute(
            db_url,
            ("DELETE FROM open_task WHERE instance_id = :i", {"i": second}),
            ("DELETE FROM history_event WHERE instance_id = :i", {"i": second}),
            ("DELETE FROM process_instance WHERE id = :i", {"i": second}),
            bypass_keys=True,
        )
    elif tamper == "rewrite_chain":
        _rewrite_chain(db_url, first, sessions)
    else:
        _execute(db_url, ("UPDATE history_anchor SET leaves = :b", {"b": b"not zlib"}))

    with sessions() as session:
        chains_ok = api.verify_history(session).ok
        check = verify_anchor(session, digest)
    # deleting the newest event or a whole matter, or rewriting a chain, passes the chain check…
    assert chains_ok == (tamper in ("delete_newest", "delete_matter", "rewrite_chain", "anchor_table"))
    # …but not the anchor
    assert not check.ok
    expected = {
        "edit": (first, "event #3 was altered"),
        "delete_newest": (first, "events after #17 were deleted"),
        "delete_matter": (second, "the matter was deleted"),
        "rewrite_chain": (first, "were rewritten"),
        "anchor_table": (None, "damaged"),
    }[tamper]
    assert check.instance_id == expected[0]
    assert expected[1] in str(check) and "\n" not in str(check)
    if expected[0] is not None:
        assert f"matter {expected[0]}" in str(check)


def test_anchoring_a_database_that_lost_records_is_refused(anchored, db_url):
    sessions, first, second, digest = anchored
    _newest_removed_and_hidden(db_url, first, sessions)
    with sessions() as session, session.begin(), pytest.raises(InvalidState, match=f"matter {first}"):
        make_anchor(session, DAY2)


def test_unknown_or_altered_digests(anchored, db_url):
    sessions, first, second, digest = anchored
    with sessions() as session:
        assert "no anchor with digest" in str(verify_anchor(session, "0" * 64))
        assert not verify_anchor(session, digest[:8]).ok  # too short to name an anchor
    _execute(db_url, ("UPDATE history_anchor SET event_count = 1", {}))  # counts are not what is trusted
    other = "f" * 64
    _execute(db_url, ("UPDATE history_anchor SET digest = :d", {"d": other}))
    with sessions() as session:
        assert not verify_anchor(session, digest).ok
        forged = verify_anchor(session, other)
        assert not forged.ok and "anchor table was altered" in str(forged)
        assert session.query(HistoryAnchor).count() == 1
