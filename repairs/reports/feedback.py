"""What residents said about the service in a period: post-job ratings and complaints.

Ratings are the bot's post-job survey (1 to 5), counted by when they were given. They are a useful signal,
not the Regulator's TP02/TP03 perception survey, and the page says so.

Complaints are counted by when they were received. The service records each complaint's Housing Ombudsman
deadlines (acknowledge, then answer) but not yet when it was acknowledged or answered, so a complaint still
marked open is shown against both deadlines rather than guessed to be met or missed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repairs.reports.period import Period
from repairs.tickets.models import Complaint, Rating, Ticket

SCORES = (1, 2, 3, 4, 5)
COMPLAINT_ROWS = 50  # the page lists the soonest deadlines; the totals count them all


@dataclass(frozen=True)
class Satisfaction:
    distribution: Mapping[int, int]

    @property
    def count(self) -> int:
        return sum(self.distribution.values())

    @property
    def mean(self) -> float | None:
        return sum(s * n for s, n in self.distribution.items()) / self.count if self.count else None

    @property
    def satisfied(self) -> int:
        """4 or 5 out of 5."""
        return self.distribution.get(4, 0) + self.distribution.get(5, 0)


@dataclass(frozen=True)
class ComplaintRow:
    reference: str
    ticket_reference: str | None
    stage: int
    status: str
    received_at: datetime
    acknowledge_by: datetime
    respond_by: datetime


@dataclass(frozen=True)
class Complaints:
    by_stage: Mapping[int, int]
    open: int
    open_past_acknowledge_by: int  # still open and past the acknowledgement deadline (as of `now`)
    open_past_respond_by: int
    soonest: Sequence[ComplaintRow]  # open ones first, by answer deadline

    @property
    def total(self) -> int:
        return sum(self.by_stage.values())


def satisfaction(session: Session, period: Period) -> Satisfaction:
    rows = session.execute(
        select(Rating.score, func.count())
        .where(Rating.created_at >= period.start, Rating.created_at < period.end)
        .group_by(Rating.score)
    ).all()
    found = {int(score): int(n) for score, n in rows}
    return Satisfaction({s: found.get(s, 0) for s in SCORES})


def complaints(session: Session, period: Period, *, now: datetime) -> Complaints:
    in_period = (Complaint.created_at >= period.start, Complaint.created_at < period.end)
    is_open = Complaint.status == "open"
    by_stage = {int(stage): int(n) for stage, n in session.execute(
        select(Complaint.stage, func.count()).where(*in_period).group_by(Complaint.stage)).all()}
    open_count, past_ack, past_respond = session.execute(
        select(
            func.count(),
            func.count().filter(Complaint.acknowledge_by < now),
            func.count().filter(Complaint.respond_by < now),
        ).where(*in_period, is_open)
    ).one()
    rows = session.execute(
        select(Complaint.reference, Ticket.reference, Complaint.stage, Complaint.status, Complaint.created_at,
               Complaint.acknowledge_by, Complaint.respond_by)
        .outerjoin(Ticket, Ticket.id == Complaint.ticket_id)
        .where(*in_period)
        .order_by(is_open.desc(), Complaint.respond_by, Complaint.id)
        .limit(COMPLAINT_ROWS)
    ).all()
    return Complaints(
        by_stage=by_stage,
        open=int(open_count),
        open_past_acknowledge_by=int(past_ack),
        open_past_respond_by=int(past_respond),
        soonest=[ComplaintRow(*row) for row in rows],
    )
