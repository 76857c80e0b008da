"""What supervisors do to officer accounts, each change recorded with who made it.

The rules live here, not in the pages: a supervisor cannot deactivate or demote themselves (so a team
is never left without one by accident), a deactivated or reset account is signed out everywhere, and
unlocking clears the failed-sign-in count as well as the lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from repairs.auth.models import AccountAction, Officer, OfficerAccountEvent, Role
from repairs.auth.officers import authenticate, create_officer, revoke_all_sessions
from repairs.auth.passwords import hash_password
from repairs.database import utcnow

log = logging.getLogger(__name__)


class AccountRefused(Exception):
    """A change the rules do not allow; the message is for the supervisor to read."""


@dataclass(frozen=True)
class AccountEventView:
    at: datetime
    actor: str
    officer: str
    action: AccountAction
    detail: str | None


def record_event(
    session: Session, actor_id: int | None, officer_id: int, action: AccountAction, detail: str | None = None
) -> None:
    session.add(OfficerAccountEvent(actor_id=actor_id, officer_id=officer_id, action=action, detail=detail))
    # Ids and the action only: names and e-mail addresses stay out of the logs.
    log.info("officer account changed", extra={"actor_id": actor_id, "officer_id": officer_id, "action": action.value})


def _target(session: Session, officer_id: int) -> Officer:
    officer = session.scalar(select(Officer).where(Officer.id == officer_id).with_for_update())
    if officer is None:
        raise AccountRefused("There is no such officer account.")
    return officer


def create_account(
    session: Session, actor_id: int | None, *, email: str, name: str, password: str, role: Role,
    insight: bool = False, data_protection: bool = False,
) -> Officer:
    officer = create_officer(session, email=email, name=name, password=password, role=role, insight=insight,
                             data_protection=data_protection)
    record_event(session, actor_id, officer.id, AccountAction.CREATED, role.value)
    if insight:
        record_event(session, actor_id, officer.id, AccountAction.INSIGHT_GRANTED)
    if data_protection:
        record_event(session, actor_id, officer.id, AccountAction.DATA_PROTECTION_GRANTED)
    return officer


def deactivate(session: Session, actor_id: int, officer_id: int) -> Officer:
    if actor_id == officer_id:
        raise AccountRefused("You cannot deactivate your own account. Ask another supervisor.")
    officer = _target(session, officer_id)
    if not officer.active:
        return officer
    officer.active = False
    revoke_all_sessions(session, officer.id)
    record_event(session, actor_id, officer.id, AccountAction.DEACTIVATED)
    return officer


def reactivate(session: Session, actor_id: int, officer_id: int) -> Officer:
    officer = _target(session, officer_id)
    if officer.active:
        return officer
    officer.active = True
    record_event(session, actor_id, officer.id, AccountAction.REACTIVATED)
    return officer


def reset_password(session: Session, actor_id: int, officer_id: int, password: str) -> Officer:
    """A new password (ValueError when too short); every session ends and any lock is lifted."""
    officer = _target(session, officer_id)
    officer.password_hash = hash_password(password)
    officer.failed_logins = 0
    officer.locked_until = None
    revoke_all_sessions(session, officer.id)
    record_event(session, actor_id, officer.id, AccountAction.PASSWORD_RESET)
    return officer


def change_own_password(session: Session, officer_id: int, current: str, new: str) -> bool:
    """An officer's own change: False when `current` is wrong. A wrong one counts towards the lock-out as
    at sign-in (so a borrowed session cannot guess it), so the caller commits even then; raises
    AccountLocked, and ValueError for a new password that is too short (checked first, nothing counted).
    On success every session ends, this one included: the caller signs the officer in again."""
    new_hash = hash_password(new)
    officer = _target(session, officer_id)
    if authenticate(session, officer.email, current) is None:
        return False
    officer.password_hash = new_hash
    revoke_all_sessions(session, officer.id)
    record_event(session, officer.id, officer.id, AccountAction.PASSWORD_CHANGED)
    return True


def unlock(session: Session, actor_id: int, officer_id: int) -> Officer:
    officer = _target(session, officer_id)
    officer.failed_logins = 0
    officer.locked_until = None
    record_event(session, actor_id, officer.id, AccountAction.UNLOCKED)
    return officer


def change_role(session: Session, actor_id: int, officer_id: int, role: Role) -> Officer:
    if actor_id == officer_id:
        raise AccountRefused("You cannot change your own role. Ask another supervisor.")
    officer = _target(session, officer_id)
    if officer.role == role:
        return officer
    officer.role = role
    record_event(session, actor_id, officer.id, AccountAction.ROLE_CHANGED, role.value)
    return officer


def set_insight(session: Session, actor_id: int, officer_id: int, insight: bool) -> Officer:
    """Give or take away the insight permission (reading what residents said on the listening page)."""
    officer = _target(session, officer_id)
    if officer.insight == insight:
        return officer
    officer.insight = insight
    record_event(session, actor_id, officer.id,
                 AccountAction.INSIGHT_GRANTED if insight else AccountAction.INSIGHT_REVOKED)
    return officer


def set_data_protection(session: Session, actor_id: int, officer_id: int, data_protection: bool) -> Officer:
    """Give or take away the data protection permission (subject access exports and erasures)."""
    officer = _target(session, officer_id)
    if officer.data_protection == data_protection:
        return officer
    officer.data_protection = data_protection
    record_event(session, actor_id, officer.id, AccountAction.DATA_PROTECTION_GRANTED if data_protection
                 else AccountAction.DATA_PROTECTION_REVOKED)
    return officer


def is_locked(officer: Officer, now: datetime | None = None) -> bool:
    return officer.locked_until is not None and officer.locked_until > (now or utcnow())


def recent_events(session: Session, *, limit: int = 50) -> list[AccountEventView]:
    actor = aliased(Officer)
    target = aliased(Officer)
    rows = session.execute(
        select(OfficerAccountEvent, actor.name, target.name)
        .outerjoin(actor, actor.id == OfficerAccountEvent.actor_id)
        .join(target, target.id == OfficerAccountEvent.officer_id)
        .order_by(OfficerAccountEvent.at.desc(), OfficerAccountEvent.id.desc())
        .limit(limit)
    ).all()
    return [
        AccountEventView(
            at=event.at, actor=actor_name or "the command line", officer=target_name, action=event.action,
            detail=event.detail,
        )
        for event, actor_name, target_name in rows
    ]
