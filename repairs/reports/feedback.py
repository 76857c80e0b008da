"""What residents said about the service in a period: post-job ratings and complaints.

Ratings are the bot's post-job survey (1 to 5), counted by when they were given. They are a useful signal,
not the Regulator's TP02/TP03 perception survey, and the page says so.

Complaints are counted by when they were received. Each stage's acknowledgement and answer is on record
(repairs/complaints/handling.py) with the deadline it was held to, so late ones are counted from what
happened, stage 1 and stage 2 alike: a complaint taken to stage 2 counts at both. Open complaints are also
counted against the deadline still running, as of `now`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repairs.complaints.handling import OPEN
from repairs.reports.period import Period
from repairs.tickets.models import Complaint, ComplaintEvent, Rating, Ticket

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
    acknowledged_at: datetime | None
    responded_at: datetime | None

    @property
    def acknowledged_late(self) -> bool:
        return self.acknowledged_at is not None and self.acknowledged_at > self.acknowledge_by

    @property
    def answered_late(self) -> bool:
        return self.responded_at is not None and self.responded_at > self.respond_by


@dataclass(frozen=True)
class Complaints:
    by_stage: Mapping[int, int]  # by the stage each is at now
    open: int
    # Still open and not acknowledged, past the acknowledgement deadline (as of `now`).
    open_past_acknowledge_by: int
    open_past_respond_by: int  # still open (acknowledged or not) and past the answer deadline
    # Acknowledgements and answers given (each stage counts), and how many came after their deadline.
    acknowledged: int
    acknowledged_late: int
    answered: int
    answered_late: int
    escalated: int  # taken to stage 2
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
    is_open = Complaint.status == OPEN
    by_stage = {int(stage): int(n) for stage, n in session.execute(
        select(Complaint.stage, func.count()).where(*in_period).group_by(Complaint.stage)).all()}
    open_count, past_ack, past_respond = session.execute(
        select(
            func.count(),
            func.count().filter(Complaint.acknowledged_at.is_(None), Complaint.acknowledge_by < now),
            func.count().filter(Complaint.respond_by < now),
        ).where(*in_period, is_open)
    ).one()
    late = ComplaintEvent.at > ComplaintEvent.due_at
    acknowledged, acknowledged_late, answered, answered_late, escalated = session.execute(
        select(
            func.count().filter(ComplaintEvent.kind == "acknowledged"),
            func.count().filter(ComplaintEvent.kind == "acknowledged", late),
            func.count().filter(ComplaintEvent.kind == "answered"),
            func.count().filter(ComplaintEvent.kind == "answered", late),
            func.count().filter(ComplaintEvent.kind == "escalated"),
        )
        .select_from(ComplaintEvent)
        .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
        .where(*in_period)
    ).one()
    rows = session.execute(
        select(Complaint.reference, Ticket.reference, Complaint.stage, Complaint.status, Complaint.created_at,
               Complaint.acknowledge_by, Complaint.respond_by, Complaint.acknowledged_at, Complaint.responded_at)
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
        acknowledged=int(acknowledged),
        acknowledged_late=int(acknowledged_late),
        answered=int(answered),
        answered_late=int(answered_late),
        escalated=int(escalated),
        soonest=[ComplaintRow(*row) for row in rows],
    )
