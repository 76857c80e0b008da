"""Adding to the assistant's daily counters, and reading them for a period."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from repairs.database import utcnow
from repairs.usage.models import AssistantUsage, UsageEvent

UK = ZoneInfo("Europe/London")  # reports count whole UK days


def count(session: Session, event: UsageEvent, channel: str, *, at: datetime | None = None) -> None:
    """One more `event` on `channel` today (UK). A single upsert, so concurrent replicas never lose one."""
    day = (at or utcnow()).astimezone(UK).date()
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(AssistantUsage).values(day=day, channel=channel, event=event.value, count=1)
    session.execute(statement.on_conflict_do_update(
        index_elements=["day", "channel", "event"], set_={"count": AssistantUsage.count + 1}))


def totals(session: Session, first_day: date, last_day: date) -> dict[str, int]:
    """Each event's total over the days first_day..last_day (inclusive)."""
    rows = session.execute(
        select(AssistantUsage.event, func.sum(AssistantUsage.count))
        .where(AssistantUsage.day >= first_day, AssistantUsage.day <= last_day)
        .group_by(AssistantUsage.event)
    ).all()
    return {str(event): int(total or 0) for event, total in rows}
