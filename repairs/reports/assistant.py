"""What the repairs database can honestly say about the assistant in a period.

It holds the repairs reported through the chat channels, every request for a person (a callback
request), and the daily usage counters (repairs/usage): conversations begun, counted by the repairs
service as the channel edges pass residents' messages on (repairs/usage/conversations.py); and messages not
understood, conversations with at least one, and conversations handed to a person, which the action
server posts. The conversations themselves live in Rasa's tracker store, which this service does not read.

Conversations have been counted only since the edges began counting them. A period that ends before the
first day with a conversation counted says so and shows the share handled without a person and the fallback
rate as unavailable, rather than estimating them; a period that starts before it has those figures from
that day on, and says from when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from repairs_common.channels import is_resident_channel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repairs.reports.period import Period
from repairs.tickets.models import CallbackRequest
from repairs.usage.counting import totals
from repairs.usage.models import AssistantUsage, UsageEvent

NOT_YET = (
    "No conversation has been counted yet (the repairs service counts them as residents' messages arrive), "
    "so the share handled without a person and the fallback rate are not available; the messages the "
    "assistant did not understand are counted."
)
BEFORE_COUNTING = (
    "Conversations are counted from {first:%-d %b %Y}, after this period, so the share handled without a "
    "person and the fallback rate are not available for it; the messages the assistant did not understand "
    "are counted."
)
COUNTED_FROM = (
    "Conversations are counted from {first:%-d %b %Y}: the conversations, those handled without a person, "
    "the fallback rate and the messages not understood cover {first:%-d %b %Y} to {last:%-d %b %Y} only."
)


@dataclass(frozen=True)
class AssistantFigures:
    reported_in_chat: Sequence[tuple[str, int]]  # repairs reported through each chat channel
    callbacks: Sequence[tuple[str, int]]  # requests for a person, by channel
    conversations: int | None = None
    # Conversations in which the resident asked for (or accepted) a person.
    with_person: int | None = None
    # Messages the assistant did not understand, and conversations with at least one.
    misunderstood_messages: int | None = None
    misunderstood_conversations: int | None = None
    unavailable_reason: str | None = NOT_YET
    # Set when conversations began to be counted inside the period: the usage figures are from that day.
    counted_from: date | None = None
    note: str | None = None

    @property
    def without_person(self) -> int | None:
        if self.conversations is None or self.with_person is None:
            return None
        return max(self.conversations - self.with_person, 0)

    @property
    def fallback_rate(self) -> float | None:
        """The share of conversations in which the assistant failed to understand at least once."""
        if not self.conversations or self.misunderstood_conversations is None:
            return None
        return min(self.misunderstood_conversations / self.conversations, 1.0)

    @property
    def reported_total(self) -> int:
        return sum(n for _, n in self.reported_in_chat)

    @property
    def callbacks_total(self) -> int:
        return sum(n for _, n in self.callbacks)


def first_counted_day(session: Session) -> date | None:
    """The first UK day with a conversation counted: conversation figures exist from then on."""
    return session.scalar(select(func.min(AssistantUsage.day))
                          .where(AssistantUsage.event == UsageEvent.CONVERSATION.value))


def assistant_figures(session: Session, period: Period, by_channel: Sequence[tuple[str, int]]) -> AssistantFigures:
    """`by_channel` is the period's reports by channel (from `figures.volumes`, already counted)."""
    callbacks = session.execute(
        select(CallbackRequest.channel, func.count())
        .where(CallbackRequest.created_at >= period.start, CallbackRequest.created_at < period.end)
        .group_by(CallbackRequest.channel)
        .order_by(func.count().desc(), CallbackRequest.channel)
    ).all()
    first = first_counted_day(session)
    usage: dict[str, object]
    if first is None or first > period.last_day:
        # Misunderstandings are counted by the action server whatever else is; the rates need conversations.
        counted = totals(session, period.first_day, period.last_day)
        usage = {"unavailable_reason": NOT_YET if first is None else BEFORE_COUNTING.format(first=first)}
    else:
        # All four counters over the same days, so the rates compare like with like.
        since = max(first, period.first_day)
        counted = totals(session, since, period.last_day)
        usage = {"conversations": counted.get(UsageEvent.CONVERSATION.value, 0),
                 "with_person": counted.get(UsageEvent.PERSON.value, 0), "unavailable_reason": None}
        if since > period.first_day:
            usage.update(counted_from=since, note=COUNTED_FROM.format(first=since, last=period.last_day))
    usage.update(misunderstood_messages=counted.get(UsageEvent.MISUNDERSTOOD.value, 0),
                 misunderstood_conversations=counted.get(UsageEvent.MISUNDERSTOOD_CONVERSATION.value, 0))
    return AssistantFigures(
        reported_in_chat=[(c, n) for c, n in by_channel if is_resident_channel(c)],
        callbacks=[(str(c), int(n)) for c, n in callbacks],
        **usage,  # type: ignore[arg-type]
    )
