"""What officers do with a complaint under the Housing Ombudsman Complaint Handling Code: acknowledge it,
answer it, and take it to stage 2 when the resident is not satisfied with the stage 1 answer.

Each step writes a complaint event with who took it and, for an acknowledgement or an answer, the deadline
it was held to; and the resident hears of it on their channel through the outbox, in the same transaction.
Each step names the stage it was taken at, so a form sent twice (a double click, the browser sending it
again) changes nothing the second time, and a form shown before an escalation cannot act on stage 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, select
from sqlalchemy.orm import Session

from repairs.database import utcnow
from repairs.notifications.outbox import enqueue
from repairs.policy.engine import Policy
from repairs.tickets.models import Complaint, ComplaintEvent, Ticket
from repairs.tickets.service import Actor, create_complaint

OPEN = "open"  # received or escalated, not yet answered at its stage
ANSWERED = "answered"
STAGES = (1, 2)
OMBUDSMAN = "the Housing Ombudsman (www.housing-ombudsman.org.uk, 0300 111 3000)"

ACKNOWLEDGED_TEXT = {
    1: "We have received your complaint {ref} and are looking into it. This is stage 1 of our complaints "
       "process. We will send you our full answer {respond_by}.",
    2: "We have received your complaint {ref} at stage 2 of our complaints process, and a senior officer is "
       "reviewing it. We will send you our final answer {respond_by}.",
}
ANSWERED_TEXT = {
    1: "Our answer to your complaint {ref}:\n\n{text}\n\nIf you are not satisfied with this answer, tell us "
       "and we will take your complaint to stage 2, where a senior officer reviews it.",
    2: "Our final answer to your complaint {ref}, at stage 2:\n\n{text}\n\nIf you are still not satisfied, you "
       f"can ask {OMBUDSMAN} to look at your complaint.",
}
ESCALATED_TEXT = (
    "Your complaint {ref} is now at stage 2 of our complaints process: a senior officer will review it. We will "
    "acknowledge it {acknowledge_by}, and send you our final answer within {days} working days of that."
)


class ComplaintActionRefused(Exception):
    """The step is not one the complaint's state allows; `message` says why, in words for an officer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Outcome:
    done: str  # acknowledged, answered, escalated, or already_<one of them> when the step was taken before


def status_text(complaint: Complaint) -> str:
    """Where the complaint stands, in words for officers."""
    if complaint.status == ANSWERED:
        return "answered"
    if complaint.status == OPEN:
        return "acknowledged, not yet answered" if complaint.acknowledged_at else "waiting to be acknowledged"
    return complaint.status


def next_deadline(complaint: Complaint) -> tuple[str, datetime] | None:
    """The clock that runs now: acknowledge until acknowledged, then answer; none once answered."""
    if complaint.status != OPEN:
        return None
    if complaint.acknowledged_at is None:
        return "acknowledge", complaint.acknowledge_by
    return "answer", complaint.respond_by


def next_deadline_column() -> ColumnElement[datetime]:
    """`next_deadline`'s moment in SQL, for ordering a list by it (null once answered)."""
    return case(
        (Complaint.status != OPEN, None),
        (Complaint.acknowledged_at.is_(None), Complaint.acknowledge_by),
        else_=Complaint.respond_by,
    )


def record(
    complaint: Complaint,
    actor: Actor,
    kind: str,
    *,
    at: datetime,
    due_at: datetime | None = None,
    data: dict[str, object] | None = None,
) -> ComplaintEvent:
    return ComplaintEvent(
        complaint=complaint, actor_type=actor.type, actor_id=actor.id, kind=kind, stage=complaint.stage,
        due_at=due_at, data=data or {}, at=at,
    )


def _tell_resident(session: Session, complaint: Complaint, event: ComplaintEvent, kind: str, text: str) -> None:
    """Queue `text` for the resident, keyed by the event so delivery sends it once however often it retries.
    A complaint about a repair goes with that repair's messages: in order, and shown on its page."""
    session.flush()
    enqueue(
        session,
        delivery_key=f"complaint:{complaint.id}:event:{event.id}",
        resident_id=complaint.resident_id,
        ticket_id=complaint.ticket_id,
        kind=kind,
        text=text,
        data={"complaint": complaint.reference, "stage": complaint.stage},
    )


def _same_stage(complaint: Complaint, stage: int) -> None:
    if complaint.stage != stage:
        raise ComplaintActionRefused(
            "stage_changed",
            f"Complaint {complaint.reference} is at stage {complaint.stage} now, not stage {stage}: it changed "
            "after this page was shown. Nothing was done; look at it again below.",
        )


def acknowledge(
    session: Session, policy: Policy, complaint: Complaint, *, actor: Actor, stage: int, now: datetime | None = None
) -> Outcome:
    """Acknowledge the stage: the answer is then due the stage's working days after today, and the resident
    is told by when."""
    _same_stage(complaint, stage)
    if complaint.acknowledged_at is not None:
        return Outcome("already_acknowledged")
    now = now or utcnow()
    due = complaint.acknowledge_by
    complaint.acknowledged_at = now
    complaint.respond_by = policy.complaint_respond_by(now, complaint.stage)
    event = record(complaint, actor, "acknowledged", at=now, due_at=due,
                   data={"respond_by": complaint.respond_by.isoformat()})
    session.add(event)
    text = ACKNOWLEDGED_TEXT[complaint.stage].format(
        ref=complaint.reference, respond_by=policy.describe_deadline(complaint.respond_by, now)
    )
    _tell_resident(session, complaint, event, "complaint_acknowledged", text)
    session.flush()
    return Outcome("acknowledged")


def answer(
    session: Session, complaint: Complaint, *, actor: Actor, stage: int, text: str, now: datetime | None = None
) -> Outcome:
    """Send the stage's answer to the resident; the complaint is answered."""
    _same_stage(complaint, stage)
    if complaint.status == ANSWERED:
        return Outcome("already_answered")
    if complaint.acknowledged_at is None:
        raise ComplaintActionRefused(
            "not_acknowledged",
            "Acknowledge the complaint first: the resident is told it is being looked at, and the answer's "
            "deadline is counted from then.",
        )
    words = text.strip()
    if not words:
        raise ComplaintActionRefused("no_answer", "Write the answer to send to the resident.")
    now = now or utcnow()
    event = record(complaint, actor, "answered", at=now, due_at=complaint.respond_by, data={"response": words})
    complaint.status = ANSWERED
    complaint.responded_at = now
    complaint.response = words
    session.add(event)
    message = ANSWERED_TEXT[complaint.stage].format(ref=complaint.reference, text=words)
    _tell_resident(session, complaint, event, "complaint_answered", message)
    session.flush()
    return Outcome("answered")


# How long after a stage 1 answer a resident's new complaint about the same repair is taken as asking for
# stage 2 of it rather than as a new complaint (the Code leaves the window to the landlord; two months is common).
ESCALATION_WINDOW = timedelta(weeks=9)


def answered_about(session: Session, resident_id: int, ticket_id: int, *, now: datetime | None = None
                   ) -> Complaint | None:
    """The resident's stage 1 complaint about this repair answered within ESCALATION_WINDOW, if any: the
    one a new complaint about the same repair asks to take further (the answer said to "tell us")."""
    since = (now or utcnow()) - ESCALATION_WINDOW
    return session.scalar(
        select(Complaint)
        .where(Complaint.resident_id == resident_id, Complaint.ticket_id == ticket_id, Complaint.stage == 1,
               Complaint.status == ANSWERED, Complaint.responded_at >= since)
        .order_by(Complaint.responded_at.desc())
        .limit(1)
        .with_for_update()
    )


def from_resident(session: Session, policy: Policy, *, resident_id: int, ticket: Ticket | None, text: str,
                  actor: Actor) -> tuple[Complaint, bool]:
    """A resident's complaint, and whether it took an earlier one to stage 2: a complaint about a repair whose
    stage 1 complaint was answered lately asks for stage 2 of that one (the answer told the resident to say
    so), and under the Code it is escalated, not started again."""
    earlier = answered_about(session, resident_id, ticket.id) if ticket is not None else None
    if earlier is not None:
        escalate(session, policy, earlier, actor=actor, stage=1, reason=text, tell_resident=False)
        return earlier, True
    return create_complaint(session, policy, resident_id=resident_id, ticket=ticket, text=text, actor=actor), False


def escalate(
    session: Session,
    policy: Policy,
    complaint: Complaint,
    *,
    actor: Actor,
    stage: int,
    reason: str | None = None,
    now: datetime | None = None,
    tell_resident: bool = True,
) -> Outcome:
    """The resident is not satisfied with the stage 1 answer: stage 2 starts today, with its own clocks.
    `tell_resident=False` when the resident asked in the chat, which answers them there and then."""
    if stage == 1 and complaint.stage == 2:
        return Outcome("already_escalated")
    _same_stage(complaint, stage)
    if complaint.stage == 2:
        raise ComplaintActionRefused(
            "final_stage",
            f"Stage 2 is the last stage of our complaints process. A resident still not satisfied can ask "
            f"{OMBUDSMAN}.",
        )
    if complaint.status != ANSWERED:
        raise ComplaintActionRefused(
            "not_answered",
            "A complaint goes to stage 2 when the resident is not satisfied with the stage 1 answer: answer "
            "stage 1 first.",
        )
    now = now or utcnow()
    complaint.stage = 2
    complaint.status = OPEN
    complaint.escalated_at = now
    complaint.acknowledged_at = complaint.responded_at = complaint.response = None
    complaint.acknowledge_by, complaint.respond_by = policy.complaint_deadlines(now, 2)
    data: dict[str, object] = {"acknowledge_by": complaint.acknowledge_by.isoformat(),
                               "respond_by": complaint.respond_by.isoformat()}
    if reason:
        data["reason"] = reason
    event = record(complaint, actor, "escalated", at=now, data=data)
    session.add(event)
    text = ESCALATED_TEXT.format(
        ref=complaint.reference,
        acknowledge_by=policy.describe_deadline(complaint.acknowledge_by, now),
        days=policy.complaint_stage(2).respond_working_days,
    )
    if tell_resident:
        _tell_resident(session, complaint, event, "complaint_escalated", text)
    session.flush()
    return Outcome("escalated")
