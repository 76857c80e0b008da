"""A small hand-built set of tickets, ratings, complaints and callback requests with known report answers
(the answers are worked out in tests/test_reports.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.reports.period import Period
from repairs.residents.models import Resident, Tenancy
from repairs.tickets.models import CallbackRequest, Complaint, Priority, Rating, Status, Ticket
from tests.factories import ResidentHandle

LONDON = ZoneInfo("Europe/London")
# Two weeks across the clock change (British Summer Time starts at 01:00 UTC on Sunday 29 March 2026):
# the period runs from 00:00 GMT on Monday 23 March to 00:00 BST on Monday 6 April (23:00 UTC on the 5th).
PERIOD = Period(first_day=date(2026, 3, 23), last_day=date(2026, 4, 5), tz=LONDON)
START = datetime(2026, 3, 23, 0, 0, tzinfo=UTC)
END = datetime(2026, 4, 5, 23, 0, tzinfo=UTC)
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
_refs = itertools.count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ticket(resident_id: int | None, *, reported: datetime, priority: Priority = Priority.ROUTINE,
           category: str = "plumbing", channel: str = "telegram", due: datetime | None = None,
           completed: datetime | None = None, status: Status | None = None, reopen_count: int = 0,
           cancelled: datetime | None = None, summary: str = "Kitchen tap drips") -> Ticket:
    status = status or (Status.COMPLETED if completed else Status.CANCELLED if cancelled else Status.REPORTED)
    return Ticket(
        reference=f"HR-TEST{next(_refs):04d}", resident_id=resident_id, category=category, priority=priority,
        status=status, is_open=status not in (Status.COMPLETED, Status.CLOSED, Status.CANCELLED),
        emergency=priority == Priority.EMERGENCY, summary=summary, description=summary, channel=channel,
        reported_at=reported, created_at=reported, updated_at=reported, due_at=due or reported + 20 * 24 * H,
        completed_at=completed, cancelled_at=cancelled, reopen_count=reopen_count,
        closed_at=completed + H if status == Status.CLOSED and completed else None,
    )


def build_dataset(ctx: ServiceContext, resident: ResidentHandle) -> dict[str, Ticket]:
    """The hand-built set; the comments give each ticket's part in the answers."""
    r = resident.id
    t1 = at("2026-03-23T00:00:00")  # the period's first instant
    tickets = {
        # Completed in the period: the RP02 and median set.
        "T1": ticket(r, reported=t1, priority=Priority.EMERGENCY, completed=t1 + 10 * H, due=t1 + 24 * H),
        "T2": ticket(r, reported=at("2026-03-24T10:00:00"), priority=Priority.EMERGENCY, category="electrical",
                     channel="web", completed=at("2026-03-25T16:00:00"), due=at("2026-03-25T10:00:00")),
        "T3": ticket(r, reported=at("2026-03-30T09:00:00"), priority=Priority.URGENT, category="heating",
                     channel="phone", completed=at("2026-04-01T09:00:00"), due=at("2026-04-02T09:00:00")),
        # Finished at 23:59 BST on the period's last day, after its target: late, and inside the period.
        "T4": ticket(r, reported=at("2026-03-31T09:00:00"), completed=at("2026-04-05T22:59:00"),
                     due=at("2026-04-05T12:00:00")),
        # Reported in the last second of the period; still open.
        "T5": ticket(r, reported=at("2026-04-05T22:59:59")),
        # Reported at 00:00 BST on 6 April: the day after the period.
        "T6": ticket(r, reported=END, category="heating", channel="sms"),
        # Reported the second before the period (not in its volumes), completed inside it (in RP02).
        "T7": ticket(r, reported=START - timedelta(seconds=1), category="heating", completed=START + H,
                     due=at("2026-03-30T00:00:00")),
        "T8": ticket(r, reported=at("2026-03-25T09:00:00"), category="fittings", channel="email",
                     cancelled=at("2026-03-26T09:00:00")),
        # Reopened and not finished again: finished once, reopened, not completed.
        "T9": ticket(r, reported=at("2026-03-26T09:00:00"), priority=Priority.URGENT, category="doors_windows",
                     status=Status.REOPENED, reopen_count=1),
        # Completed at the period's end instant: outside the completions, inside the volumes.
        "T10": ticket(r, reported=at("2026-04-01T09:00:00"), completed=END, due=END + 24 * H),
        # Reopened once and finished again, within its new target.
        "T11": ticket(r, reported=at("2026-03-27T09:00:00"), priority=Priority.URGENT, category="roofing",
                      completed=at("2026-03-28T09:00:00"), due=at("2026-03-30T09:00:00"), status=Status.CLOSED,
                      reopen_count=1),
        # A duplicate merged into T1: the same job, so in no count (bar the duplicates') and not exported.
        "T12": ticket(r, reported=at("2026-03-23T01:00:00"), priority=Priority.EMERGENCY, status=Status.MERGED),
    }
    tickets["T12"].is_open = False
    with transaction(ctx.sessions) as s:
        home = s.scalar(select(Tenancy.property_id).join(Resident, Resident.tenancy_id == Tenancy.id)
                        .where(Resident.id == r))
        for t in tickets.values():
            t.property_id = home
        s.add_all(tickets.values())
        s.flush()
        ratings = [("T1", 5, "2026-03-24T12:00:00"), ("T2", 5, "2026-03-26T12:00:00"),
                   ("T3", 4, "2026-04-02T12:00:00"), ("T4", 1, "2026-04-05T22:59:59"),
                   ("T10", 3, "2026-04-05T23:00:00"), ("T7", 2, "2026-03-22T23:59:59")]
        for key, score, when in ratings:
            s.add(Rating(ticket_id=tickets[key].id, resident_id=r, score=score, created_at=at(when)))
        complaints = [
            ("CP-OPEN1", 1, "open", "2026-03-24T10:00:00", "2026-03-31T22:59:59", "2026-04-14T22:59:59", "T2"),
            ("CP-OPEN2", 2, "open", "2026-03-25T10:00:00", "2026-03-26T23:59:59", "2026-03-27T23:59:59", None),
            ("CP-DONE3", 1, "closed", "2026-03-26T10:00:00", "2026-03-27T23:59:59", "2026-03-28T23:59:59", None),
            ("CP-AFTER", 1, "open", "2026-04-05T23:00:00", "2026-04-10T22:59:59", "2026-04-24T22:59:59", None),
        ]
        for ref, stage, status, created, ack, respond, about in complaints:
            s.add(Complaint(reference=ref, resident_id=r, ticket_id=tickets[about].id if about else None, stage=stage,
                            status=status, text="Nobody came", created_at=at(created), acknowledge_by=at(ack),
                            respond_by=at(respond)))
        for channel, when in [("telegram", "2026-03-23T08:00:00"), ("telegram", "2026-04-01T08:00:00"),
                              ("web", "2026-04-05T22:00:00"), ("web", "2026-04-05T23:00:00")]:
            s.add(CallbackRequest(resident_id=r, reason="Please call", channel=channel, created_at=at(when)))
    return tickets
