"""Taking an inbound update once: the first caller for a (channel, update id) wins, every later one is told so."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from repairs.channels.models import ChannelUpdate
from repairs.database import utcnow

KEEP = timedelta(days=7)  # Telegram keeps an unanswered update for 24 hours; a week is ample
PRUNE_EVERY = 500  # new rows between two prunes: housekeeping rides along with the inserts


def take_update(
    session: Session, channel: str, update_id: str, *, now: datetime | None = None, prune_every: int = PRUNE_EVERY
) -> bool:
    """True for the first call with this update, False afterwards, also when two replicas race."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # ON CONFLICT DO NOTHING: the loser of a race gets no row back instead of an error that would
    # spoil its transaction.
    new_id = session.scalar(
        insert(ChannelUpdate)
        .values(channel=channel, update_id=update_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        .returning(ChannelUpdate.id)
    )
    if new_id is not None and new_id % prune_every == 0:
        prune(session, now=now)
    return new_id is not None


def prune(session: Session, *, now: datetime | None = None, keep: timedelta = KEEP) -> int:
    """Forget updates older than `keep`; returns how many went."""
    cutoff = (now or utcnow()) - keep
    result = session.execute(
        delete(ChannelUpdate).where(ChannelUpdate.received_at < cutoff),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)
