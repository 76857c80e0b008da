"""A chat's shared edge state: small JSON values by (channel, chat, name), each with an expiry.

The bot keeps here what a second replica would need to answer the next update for the same chat (see
repairs/channels/models.py). Writes are single statements, so two replicas racing get one winner:
`only_if_absent` is how the edge counts a button's first tap only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from repairs.channels.models import ChannelState
from repairs.database import utcnow

PRUNE_EVERY = 500  # new rows between two sweeps of expired ones


def _key(channel: str, chat: str, name: str) -> ColumnElement[bool]:
    return and_(ChannelState.channel == channel, ChannelState.chat == chat, ChannelState.name == name)


def put(session: Session, channel: str, chat: str, name: str, value: str, *, ttl: timedelta,
        only_if_absent: bool = False, now: datetime | None = None) -> bool:
    """Keep `value` until `ttl` from now. With `only_if_absent`, only when no live value is there: True
    when this call stored it. Otherwise it replaces what was there and returns True."""
    now = now or utcnow()
    # An expired value counts as absent: cleared first, in the same transaction.
    session.execute(delete(ChannelState).where(_key(channel, chat, name), ChannelState.expires_at <= now),
                    execution_options={"synchronize_session": False})
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ChannelState).values(channel=channel, chat=chat, name=name, value=value,
                                            expires_at=now + ttl)
    conflict = ["channel", "chat", "name"]
    if only_if_absent:
        new_id = session.scalar(statement.on_conflict_do_nothing(index_elements=conflict)
                                .returning(ChannelState.id))
        stored = new_id is not None
    else:
        new_id = session.scalar(statement.on_conflict_do_update(
            index_elements=conflict,
            set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at},
        ).returning(ChannelState.id))
        stored = True
    if new_id is not None and new_id % PRUNE_EVERY == 0:
        prune(session, now=now)
    return stored


def get(session: Session, channel: str, chat: str, name: str, *, now: datetime | None = None) -> str | None:
    return session.scalar(select(ChannelState.value).where(_key(channel, chat, name),
                                                           ChannelState.expires_at > (now or utcnow())))


def take(session: Session, channel: str, chat: str, name: str, *, now: datetime | None = None) -> str | None:
    """Remove and return the live value (one of two racing callers gets it; the other gets None)."""
    now = now or utcnow()
    rows = session.execute(delete(ChannelState).where(_key(channel, chat, name))
                           .returning(ChannelState.value, ChannelState.expires_at),
                           execution_options={"synchronize_session": False}).all()
    live = [value for value, expires_at in rows if expires_at > now]
    return live[0] if live else None


def erase_chat(session: Session, channel: str, chat: str) -> int:
    """Everything kept for one chat goes (the resident asked to be forgotten)."""
    result = session.execute(delete(ChannelState).where(ChannelState.channel == channel, ChannelState.chat == chat),
                             execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def prune(session: Session, *, now: datetime | None = None) -> int:
    result = session.execute(delete(ChannelState).where(ChannelState.expires_at <= (now or utcnow())),
                             execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)
