"""Rasa's SQL tracker store, read and pruned from the repairs service.

Rasa's `SQLTrackerStore` (which `rasa_tracker.erasable.ErasableSQLTrackerStore` extends) keeps every event of
every conversation as one row of its `events` table: the sender id (`<channel>:<id>`, repairs_common.channels),
the event's type, a Unix timestamp, and the event as JSON text. A subject access export reads a resident's rows;
an erasure and the retention schedule delete them. The service reaches the table directly, not through Rasa's
HTTP API, because Rasa 3.6 has no call that lists or deletes conversations by age.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, Text, delete, func, inspect, select

from repairs.database import make_engine

_metadata = MetaData()
# As Rasa 3.6 creates it (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent). Declared here, never created
# by the service in production: Rasa owns the table.
EVENTS = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

# The events that carry what was said or remembered; the rest (action names, session starts) are the
# assistant's own bookkeeping and are summarised by type only in an export.
_SAID = {"user": "resident", "bot": "assistant"}


@dataclass(frozen=True)
class ConversationLine:
    at: str
    event: str
    by: str | None
    text: str | None
    detail: dict[str, Any]


class TrackerStore:
    """The tracker store's `events` table at `url` (an engine of its own, built on first use)."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url, pool_size=2)
        return self._engine

    def _has_events(self) -> bool:
        """Rasa makes the table on its first start: before that (a fresh demo) there is nothing to read or delete."""
        return inspect(self.engine).has_table(EVENTS.name)

    def create_table(self) -> None:
        """For tests and a fresh demo: Rasa makes the same table on its first start."""
        _metadata.create_all(self.engine)

    def conversation(self, sender_ids: Sequence[str]) -> dict[str, list[ConversationLine]]:
        """Every event of these senders, oldest first, as a reader can follow it."""
        if not sender_ids or not self._has_events():
            return {}
        found: dict[str, list[ConversationLine]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
                .where(EVENTS.c.sender_id.in_(list(sender_ids)))
                .order_by(EVENTS.c.sender_id, EVENTS.c.timestamp, EVENTS.c.id)
            ).all()
        for sender, type_name, timestamp, data in rows:
            found.setdefault(sender, []).append(_line(type_name, timestamp, data))
        return found

    def erase(self, sender_ids: Sequence[str]) -> int:
        if not sender_ids or not self._has_events():
            return 0
        with self.engine.begin() as conn:
            result = conn.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(list(sender_ids))))
        return int(result.rowcount or 0)

    def erase_idle(self, before: datetime, *, limit: int = 500) -> tuple[int, int]:
        """Delete up to `limit` conversations whose last event is older than `before`: (conversations, events)."""
        if not self._has_events():
            return 0, 0
        cutoff = before.timestamp()
        with self.engine.begin() as conn:
            senders = conn.scalars(
                select(EVENTS.c.sender_id).group_by(EVENTS.c.sender_id)
                .having(func.max(EVENTS.c.timestamp) < cutoff).limit(limit)
            ).all()
            if not senders:
                return 0, 0
            # A sender who wrote again since the select keeps the conversation.
            result = conn.execute(
                delete(EVENTS).where(
                    EVENTS.c.sender_id.in_(list(senders)),
                    EVENTS.c.sender_id.not_in(
                        select(EVENTS.c.sender_id).where(EVENTS.c.timestamp >= cutoff).scalar_subquery()
                    ),
                )
            )
        return len(senders), int(result.rowcount or 0)


def _line(type_name: str, timestamp: float | None, data: str | None) -> ConversationLine:
    try:
        event = json.loads(data) if data else {}
    except ValueError:
        event = {}
    at = datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp is not None else ""
    if type_name in _SAID:
        return ConversationLine(at, type_name, _SAID[type_name], event.get("text"), {})
    if type_name == "slot":
        return ConversationLine(at, type_name, None, None, {"slot": event.get("name"), "value": event.get("value")})
    name = event.get("name") if isinstance(event.get("name"), str) else None
    return ConversationLine(at, type_name, None, None, {"name": name} if name else {})
