"""What the repairs database can honestly say about the assistant in a period.

It holds the repairs reported through the chat channels and every request for a person (a callback
request: the resident asked, or accepted the offer after the assistant failed to understand twice).
It does not hold conversations: those live in Rasa's tracker store, a separate database with the
residents' words in it, which this service does not read. So the number of conversations, and with it
the share handled without a person and the fallback rate, are reported as unavailable, with that
reason, rather than estimated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repairs.auth.dependencies import CHANNELS
from repairs.reports.period import Period
from repairs.tickets.models import CallbackRequest

UNAVAILABLE = (
    "Not available: conversations are kept by the assistant (Rasa's tracker store, a separate database), "
    "and no count of them or of misunderstood messages reaches the repairs service."
)


@dataclass(frozen=True)
class AssistantFigures:
    reported_in_chat: Sequence[tuple[str, int]]  # repairs reported through each chat channel
    callbacks: Sequence[tuple[str, int]]  # requests for a person, by channel
    conversations: int | None = None
    fallback_turns: int | None = None
    unavailable_reason: str | None = UNAVAILABLE

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
    return AssistantFigures(
        reported_in_chat=[(c, n) for c, n in by_channel if c in CHANNELS],
        callbacks=[(str(c), int(n)) for c, n in callbacks],
    )
