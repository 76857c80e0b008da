"""What the complaints list and a complaint's page show: the deadline that runs next and how long is left
(or how late it is), the resident's words, the repair it is about, the history with who did what, what was
sent to the resident, and which steps the complaint's state allows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from repairs.auth.models import Officer
from repairs.complaints.handling import ANSWERED, OPEN, STAGES, next_deadline, status_text
from repairs.complaints.listing import Listed
from repairs.notifications.models import Notification
from repairs.policy.engine import Policy
from repairs.residents.models import ChannelIdentity, Resident
from repairs.tickets.models import Complaint, ComplaintEvent, Ticket
from repairs.tickets.presenters import STATUS_TEXT
from repairs.workspace.formatting import local_time, time_left
from repairs.workspace.ticket_view import SentMessage, TimelineEntry

EXCERPT = 140
DEADLINE_NAMES = {"acknowledge": "Acknowledge", "answer": "Answer"}
EVENT_TEXT = {
    "received": "Complaint received",
    "acknowledged": "Acknowledged",
    "answered": "Answered",
    "escalated": "Escalated to stage 2",
}
ACTORS = {"resident": "Resident", "service": "Assistant", "system": "System"}


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


@dataclass(frozen=True)
class Row:
    reference: str
    stage: int
    status: str
    is_open: bool
    ticket_reference: str | None
    received: str
    words: str
    deadline: str | None  # "Acknowledge" or "Answer": the clock that runs next
    due: str
    left: str
    late: bool
    answered: str | None


def row(listed: Listed, now: datetime) -> Row:
    c = listed.complaint
    clock = next_deadline(c)
    return Row(
        reference=c.reference,
        stage=c.stage,
        status=status_text(c),
        is_open=c.status == OPEN,
        ticket_reference=listed.ticket_reference,
        received=local_time(c.created_at),
        words=excerpt(c.text),
        deadline=DEADLINE_NAMES[clock[0]] if clock else None,
        due=local_time(clock[1]) if clock else "",
        left=time_left(clock[1], now) if clock else "",
        late=clock is not None and clock[1] < now,
        answered=local_time(c.responded_at) if c.responded_at else None,
    )


@dataclass(frozen=True)
class Step:
    """One deadline of the stage being worked: met, missed, or still running."""

    name: str
    due: str
    state: str  # "Acknowledged Tue 3 Nov 2026 10:00", "2 days 4 h left", ...
    late: bool
    runs_next: bool


@dataclass
class ComplaintPage:
    reference: str
    stage: int
    status: str
    is_open: bool
    text: str
    received_at: str
    escalated_at: str | None
    ticket: dict[str, str] | None
    resident: dict[str, Any] | None
    steps: list[Step]
    response: str | None
    history: list[TimelineEntry]
    messages: list[SentMessage]
    can_acknowledge: bool
    can_answer: bool
    can_escalate: bool
    timescales: dict[int, tuple[int, int]]  # stage: (acknowledge, answer) in working days


def _step(name: str, due: datetime, done_at: datetime | None, done_word: str, now: datetime, *,
          running: bool, runs_next: bool) -> Step:
    if done_at is not None:
        late = done_at > due
        return Step(name, local_time(due), f"{done_word} {local_time(done_at)}" + (" (late)" if late else ""),
                    late, False)
    if not running:
        return Step(name, local_time(due), "stopped", False, False)
    return Step(name, local_time(due), time_left(due, now), due < now, runs_next)


def _details(event: ComplaintEvent) -> list[tuple[str, str]]:
    data = event.data or {}
    out: list[tuple[str, str]] = []
    if event.kind in ("acknowledged", "answered") and event.due_at is not None:
        late = event.at > event.due_at
        out.append(("Was due", local_time(event.due_at) + (" (late)" if late else " (on time)")))
    if "respond_by" in data and event.kind == "acknowledged":
        out.append(("Answer due", _when(data["respond_by"])))
    if event.kind == "escalated":
        if data.get("reason"):
            out.append(("Why", str(data["reason"])))
        for key, label in (("acknowledge_by", "Acknowledge by"), ("respond_by", "Answer by")):
            if key in data:
                out.append((label, _when(data[key])))
    if event.kind == "answered" and data.get("response"):
        out.append(("Sent to the resident", str(data["response"])))
    return out


def _when(value: object) -> str:
    try:
        return local_time(datetime.fromisoformat(str(value)))
    except ValueError:  # written by us, but an old row should not break the page
        return str(value)


def timescales(policy: Policy) -> dict[int, tuple[int, int]]:
    """Each stage's (acknowledge, answer) working days, as the policy file sets them, for the pages' words."""
    stages = {stage: policy.complaint_stage(stage) for stage in STAGES}
    return {stage: (cfg.acknowledge_working_days, cfg.respond_working_days) for stage, cfg in stages.items()}


def build(session: Session, policy: Policy, complaint: Complaint, now: datetime) -> ComplaintPage:
    officer_ids = {int(e.actor_id) for e in complaint.events
                   if e.actor_type == "officer" and e.actor_id and e.actor_id.isdigit()}
    names = dict(session.execute(select(Officer.id, Officer.name).where(Officer.id.in_(officer_ids))).tuples().all()
                 ) if officer_ids else {}

    def who(e: ComplaintEvent) -> str:
        if e.actor_type == "officer" and e.actor_id is not None:
            return names.get(int(e.actor_id), f"Officer #{e.actor_id}") if e.actor_id.isdigit() else "An officer"
        return ACTORS.get(e.actor_type, e.actor_type.capitalize())

    history = [
        TimelineEntry(at=local_time(e.at), who=who(e), what=EVENT_TEXT.get(e.kind, e.kind.capitalize())
                      + (f" (stage {e.stage})" if e.kind in ("acknowledged", "answered") else ""),
                      details=_details(e), internal=False)
        for e in reversed(complaint.events)  # newest first, as on the ticket page
    ]
    keys = [f"complaint:{complaint.id}:event:{e.id}" for e in complaint.events]
    notes = session.scalars(
        select(Notification).where(Notification.delivery_key.in_(keys)).order_by(Notification.id.desc())
    ).all() if keys else []
    messages = [
        SentMessage(at=local_time(n.sent_at or n.created_at), kind=n.kind.replace("_", " "),
                    text=str((n.payload or {}).get("text", "")), status=n.status.value, channel=n.channel or "")
        for n in notes
    ]

    ticket = None
    if complaint.ticket_id is not None:
        t = session.get(Ticket, complaint.ticket_id)
        if t is not None:
            ticket = {"reference": t.reference, "summary": t.summary, "status": STATUS_TEXT[t.status]}
    resident = None
    r = session.get(Resident, complaint.resident_id)
    if r is not None:
        channels = session.scalars(
            select(ChannelIdentity.channel).where(ChannelIdentity.resident_id == r.id).distinct()
        ).all()
        resident = {"name": r.full_name, "tenancy": r.tenancy.reference, "channels": sorted(channels)}

    is_open = complaint.status == OPEN
    clock = next_deadline(complaint)
    running = clock[0] if clock else None
    steps = [
        _step("Acknowledge", complaint.acknowledge_by, complaint.acknowledged_at, "Acknowledged", now,
              running=is_open, runs_next=running == "acknowledge"),
        _step("Answer", complaint.respond_by, complaint.responded_at, "Answered", now,
              running=is_open, runs_next=running == "answer"),
    ]
    return ComplaintPage(
        reference=complaint.reference,
        stage=complaint.stage,
        status=status_text(complaint),
        is_open=is_open,
        text=complaint.text,
        received_at=local_time(complaint.created_at),
        escalated_at=local_time(complaint.escalated_at) if complaint.escalated_at else None,
        ticket=ticket,
        resident=resident,
        steps=steps,
        response=complaint.response,
        history=history,
        messages=messages,
        can_acknowledge=is_open and complaint.acknowledged_at is None,
        can_answer=is_open and complaint.acknowledged_at is not None,
        can_escalate=complaint.stage == 1 and complaint.status == ANSWERED,
        timescales=timescales(policy),
    )
