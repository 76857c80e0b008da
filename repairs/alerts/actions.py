"""What officers do with an emergency alert: acknowledge it, or take the job ("assign to me"), from the
officers' Telegram group or the workspace. Each is recorded in the ticket's audit trail with the officer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from repairs.alerts import group_message
from repairs.alerts.models import EmergencyAlert
from repairs.auth.models import Officer
from repairs.database import utcnow
from repairs.tickets import service
from repairs.tickets.models import Ticket


class AlertActionRefused(Exception):
    """`code` says why for the API (and the HTTP status); `message` is what the officer is told."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AlertOutcome:
    outcome: str  # acknowledged, already_acknowledged, assigned, already_assigned
    message: str
    reference: str
    acknowledged_by: str | None
    assigned_to: str | None


@dataclass(frozen=True)
class OpenAlert:
    id: int
    reference: str
    category: str
    priority: str
    block: str | None
    raised_at: datetime
    make_safe_by: datetime | None


def _officer_name(session: Session, officer_id: int | None) -> str | None:
    if officer_id is None:
        return None
    officer = session.get(Officer, officer_id)
    return officer.name if officer is not None else None


def _load(session: Session, alert_id: int) -> tuple[EmergencyAlert, Ticket]:
    """The alert and its ticket, both locked: two officers tapping at once take turns."""
    alert = session.scalar(select(EmergencyAlert).where(EmergencyAlert.id == alert_id).with_for_update())
    if alert is None:
        raise AlertActionRefused("not_found", "That alert is no longer known.")
    ticket = session.scalar(select(Ticket).where(Ticket.id == alert.ticket_id).with_for_update())
    assert ticket is not None  # tickets are never deleted
    return alert, ticket


def _outcome(session: Session, outcome: str, message: str, alert: EmergencyAlert, ticket: Ticket) -> AlertOutcome:
    return AlertOutcome(
        outcome=outcome,
        message=message,
        reference=ticket.reference,
        acknowledged_by=_officer_name(session, alert.acknowledged_by_id),
        assigned_to=_officer_name(session, ticket.assigned_officer_id),
    )


def _acknowledge(session: Session, alert: EmergencyAlert, ticket: Ticket, officer: Officer, via: str) -> bool:
    if alert.acknowledged_at is not None:
        return False
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = officer.id
    session.add(
        service.record_event(
            ticket, service.Actor("officer", str(officer.id)), "alert_acknowledged", data={"via": via}
        )
    )
    session.flush()
    return True


def _tell_group(session: Session, outcome: AlertOutcome, alert: EmergencyAlert, via: str) -> AlertOutcome:
    """Taken outside the group (workspace, API): the group's alert message is edited to say who has it.
    A tap in the group edits its own message."""
    if via != "telegram":
        group_message.queue_update(session, alert, reference=outcome.reference, state=outcome.outcome,
                                   acknowledged_by=outcome.acknowledged_by, assigned_to=outcome.assigned_to)
    return outcome


def acknowledge(session: Session, alert_id: int, officer: Officer, *, via: str) -> AlertOutcome:
    alert, ticket = _load(session, alert_id)
    if _acknowledge(session, alert, ticket, officer, via):
        done = _outcome(session, "acknowledged", f"{ticket.reference} acknowledged by {officer.name}.", alert, ticket)
        return _tell_group(session, done, alert, via)
    by = _officer_name(session, alert.acknowledged_by_id) or "another officer"
    return _outcome(session, "already_acknowledged", f"{ticket.reference} was already acknowledged by {by}.",
                    alert, ticket)


def assign_to_me(session: Session, alert_id: int, officer: Officer, *, via: str) -> AlertOutcome:
    """Take the job: it is assigned to `officer` and acknowledged. A job someone else holds is left with
    them (reassigning is done on the ticket, on purpose, not by a tap in a busy group)."""
    alert, ticket = _load(session, alert_id)
    if ticket.assigned_officer_id == officer.id:
        _acknowledge(session, alert, ticket, officer, via)
        return _outcome(session, "already_assigned", f"{ticket.reference} is already yours.", alert, ticket)
    if ticket.assigned_officer_id is not None:
        holder = _officer_name(session, ticket.assigned_officer_id) or "another officer"
        raise AlertActionRefused("assigned_to_other", f"{ticket.reference} is already assigned to {holder}.")
    if not ticket.is_open:
        raise AlertActionRefused("ticket_closed", f"{ticket.reference} is {ticket.status.value}: nothing to assign.")
    _acknowledge(session, alert, ticket, officer, via)
    service.assign(
        session, ticket, actor=service.Actor("officer", str(officer.id)), officer_id=officer.id, trade=None
    )
    done = _outcome(session, "assigned", f"{ticket.reference} assigned to {officer.name}.", alert, ticket)
    return _tell_group(session, done, alert, via)


def act(session: Session, alert_id: int, officer: Officer | int, *, assign: bool, via: str) -> AlertOutcome:
    """"Assign to me" (`assign`) or "acknowledge", for an officer (or their id) from the workspace, the API
    or the Telegram group: the one place the three entry points choose between the two."""
    if isinstance(officer, int):
        found = session.get(Officer, officer)
        if found is None:
            raise AlertActionRefused("not_found", "No such officer.")
        officer = found
    if assign:
        return assign_to_me(session, alert_id, officer, via=via)
    return acknowledge(session, alert_id, officer, via=via)


def officer_for_telegram(session: Session, telegram_user_id: int) -> Officer | None:
    return session.scalar(
        select(Officer).where(Officer.telegram_user_id == telegram_user_id, Officer.active.is_(True))
    )


def link_telegram(session: Session, officer_id: int, telegram_user_id: int | None) -> None:
    """Link (or, with None, unlink) the officer's Telegram user id. One officer per Telegram user."""
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise AlertActionRefused("not_found", "No such officer.")
    officer.telegram_user_id = telegram_user_id
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise AlertActionRefused(
            "telegram_user_taken", "That Telegram user is already linked to another officer account."
        ) from None


def open_alerts(session: Session, *, limit: int = 20) -> tuple[list[OpenAlert], int]:
    """Emergencies nobody has acknowledged yet, oldest first, on tickets still open; and how many in all."""
    where = (EmergencyAlert.acknowledged_at.is_(None), Ticket.is_open.is_(True))
    rows = session.execute(
        select(EmergencyAlert, Ticket)
        .join(Ticket, Ticket.id == EmergencyAlert.ticket_id)
        .where(*where)
        .options(joinedload(Ticket.property))
        .order_by(EmergencyAlert.raised_at, EmergencyAlert.id)
        .limit(limit)
    ).all()
    total = session.scalar(
        select(func.count())
        .select_from(EmergencyAlert)
        .join(Ticket, Ticket.id == EmergencyAlert.ticket_id)
        .where(*where)
    )
    alerts = [
        OpenAlert(
            id=alert.id,
            reference=ticket.reference,
            category=ticket.category,
            priority=ticket.priority.value,
            block=ticket.block or (ticket.property.block if ticket.property is not None else None),
            raised_at=alert.raised_at,
            make_safe_by=ticket.make_safe_by,
        )
        for alert, ticket in rows
    ]
    return alerts, int(total or 0)
