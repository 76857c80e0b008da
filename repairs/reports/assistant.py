"""What the repairs database can honestly say about the assistant in a period.

It holds the repairs reported through the chat channels, every request for a person (a callback
request), and the daily counters the action server keeps (repairs/usage): conversations begun, messages
not understood, conversations with at least one, and conversations handed to a person. The
conversations themselves live in Rasa's tracker store, which this service does not read. Days before
the counters existed have none: when a period has no conversation counted, the figures are reported
as unavailable, with that reason, rather than estimated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repairs.auth.dependencies import CHANNELS
from repairs.reports.period import Period
from repairs.tickets.models import CallbackRequest
from repairs.usage.counting import totals
from repairs.usage.models import UsageEvent

UNAVAILABLE = (
    "Conversations are not counted yet (they stay in Rasa's tracker store, which this service does not read), "
    "so the share handled without a person and the fallback rate are not available; the messages the "
    "assistant did not understand are counted."
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
    unavailable_reason: str | None = UNAVAILABLE

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


def assistant_figures(session: Session, period: Period, by_channel: Sequence[tuple[str, int]]) -> AssistantFigures:
    """`by_channel` is the period's reports by channel (from `figures.volumes`, already counted)."""
    callbacks = session.execute(
        select(CallbackRequest.channel, func.count())
        .where(CallbackRequest.created_at >= period.start, CallbackRequest.created_at < period.end)
        .group_by(CallbackRequest.channel)
        .order_by(func.count().desc(), CallbackRequest.channel)
    ).all()
    counted = totals(session, period.first_day, period.last_day)
    conversations = counted.get(UsageEvent.CONVERSATION.value, 0)
    # Misunderstandings are counted by the action server whatever else is; the rate needs conversations too.
    usage: dict[str, object] = {
        "misunderstood_messages": counted.get(UsageEvent.MISUNDERSTOOD.value, 0),
        "misunderstood_conversations": counted.get(UsageEvent.MISUNDERSTOOD_CONVERSATION.value, 0),
    }
    if conversations:
        usage.update(conversations=conversations, with_person=counted.get(UsageEvent.PERSON.value, 0),
                     unavailable_reason=None)
    return AssistantFigures(
        reported_in_chat=[(c, n) for c, n in by_channel if c in CHANNELS],
        callbacks=[(str(c), int(n)) for c, n in callbacks],
        **usage,  # type: ignore[arg-type]
    )
