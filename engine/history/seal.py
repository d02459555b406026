"""Sealing matters whose newest event carries no state digest.

Events written before state digests existed (:mod:`engine.history.state`) vouch for nothing about
the state the matter is in. A ``state_sealed`` event, appended once after the upgrade, records the
digest of the state as it stands, so any later edit of it without a step fails verification.
``powerlist init`` seals every such matter; ``powerlist doctor`` lists them.
"""

from __future__ import annotations

from sqlalchemy import Engine, and_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.history import events as history
from engine.history.events import EventKind
from engine.persistence.db import begin_write, make_sessionmaker
from engine.persistence.models import HistoryEvent, Matter

BATCH = 200


def unsealed(session: Session) -> list[int]:
    """Matters (ascending id) whose newest event has no state digest."""
    newest = and_(HistoryEvent.instance_id == Matter.id, HistoryEvent.seq == Matter.history_seq)
    return list(
        session.scalars(
            select(Matter.id)
            .join(HistoryEvent, newest)
            .where(HistoryEvent.state_digest.is_(None))
            .order_by(Matter.id)
        )
    )


def seal(engine: Engine) -> int:
    """Append a ``state_sealed`` event to every unsealed matter, a batch of matters per
    transaction, each locked like a step locks it; returns how many were sealed."""
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        ids = unsealed(session)
    sealed = 0
    for start in range(0, len(ids), BATCH):
        with sessions() as session, session.begin():
            begin_write(session)
            for instance in session.scalars(
                select(Matter)
                .where(Matter.id.in_(ids[start : start + BATCH]))
                .order_by(Matter.id)
                .with_for_update(of=Matter, key_share=True)
            ):
                newest = session.scalar(
                    select(HistoryEvent.state_digest).where(
                        HistoryEvent.instance_id == instance.id, HistoryEvent.seq == instance.history_seq
                    )
                )
                if newest is None:  # not sealed by a step meanwhile
                    history.append(session, instance, EventKind.STATE_SEALED, at=clock.now())
                    sealed += 1
    return sealed
