"""Officer accounts: creation, sign-in with lock-out, and session tokens."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from repairs.auth.models import Officer, OfficerSession, Role
from repairs.auth.passwords import hash_password, verify_password
from repairs.auth.secrets import digest, new_token
from repairs.database import utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


class OfficerExists(Exception):
    pass


class AccountLocked(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__("account locked")
        self.until = until


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    officer_id: int


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_officer(
    session: Session, *, email: str, name: str, password: str, role: Role, insight: bool = False,
    data_protection: bool = False,
) -> Officer:
    email = normalise_email(email)
    if session.scalar(select(Officer.id).where(Officer.email == email)) is not None:
        raise OfficerExists(email)
    officer = Officer(email=email, name=name.strip(), password_hash=hash_password(password), role=role,
                      insight=insight, data_protection=data_protection)
    session.add(officer)
    session.flush()
    return officer


def authenticate(session: Session, email: str, password: str, *, now: datetime | None = None) -> Officer | None:
    """The officer, or None for a wrong e-mail or password. Failed attempts are counted in this
    session, so the caller must commit even when sign-in fails; raises AccountLocked."""
    now = now or utcnow()
    officer = session.scalar(select(Officer).where(Officer.email == normalise_email(email)).with_for_update())
    if officer is not None and officer.locked_until is not None and officer.locked_until > now:
        raise AccountLocked(officer.locked_until)
    ok = verify_password(officer.password_hash if officer else None, password)
    if officer is None or not officer.active:
        return None
    if not ok:
        officer.failed_logins += 1
        if officer.failed_logins >= MAX_FAILED_LOGINS:
            officer.locked_until = now + LOCKOUT
            officer.failed_logins = 0
        return None
    officer.failed_logins = 0
    officer.locked_until = None
    return officer


class SessionKind(enum.StrEnum):
    """Which door a session token opens. A workspace cookie is stored under a different hash from an
    API bearer token, so neither can be replayed as the other (no schema change: the kind is in the hash)."""

    API = "api"
    WORKSPACE = "workspace"


def session_hash(token: str, kind: SessionKind = SessionKind.API) -> str:
    return digest(token) if kind is SessionKind.API else digest(f"{kind.value}:{token}")


def issue_session(
    session: Session, officer: Officer, *, ttl: timedelta, kind: SessionKind = SessionKind.API
) -> IssuedToken:
    token = new_token()
    now = utcnow()
    expires = now + ttl
    session.add(OfficerSession(token_hash=session_hash(token, kind), officer_id=officer.id, expires_at=expires,
                               last_seen_at=now))
    # Housekeeping: expired sessions are useless and only grow the table.
    session.execute(delete(OfficerSession).where(OfficerSession.expires_at < utcnow()))
    return IssuedToken(token=token, expires_at=expires, officer_id=officer.id)


def officer_for_token(session: Session, token: str, kind: SessionKind = SessionKind.API) -> Officer | None:
    row = session.execute(
        select(Officer, OfficerSession.expires_at)
        .join(OfficerSession, OfficerSession.officer_id == Officer.id)
        .where(OfficerSession.token_hash == session_hash(token, kind))
    ).first()
    if row is None:
        return None
    officer, expires_at = row
    if expires_at <= utcnow() or not officer.active:
        return None
    return officer


@dataclass(frozen=True)
class WorkspaceLookup:
    officer: Officer | None
    # The session existed but ended because it had not been used for the idle time (said so at sign-in).
    idle: bool = False


def activity_refresh(idle_after: timedelta) -> timedelta:
    """How stale `last_seen_at` may get before a request writes it again: a minute, or a tenth of a short
    idle time, so an officer at work is never taken for idle while the row is written rarely."""
    return min(timedelta(minutes=1), idle_after / 10)


def workspace_officer(
    session: Session, token: str, *, idle_after: timedelta, touch: bool = True, now: datetime | None = None
) -> WorkspaceLookup:
    """The officer a workspace cookie belongs to, while its session is within both its absolute lifetime
    (`expires_at`) and `idle_after` of its last use. `touch` says the request is the officer's own doing (a
    page, a form), not a page's background poll: only then does it count as activity (`last_seen_at` is
    written only when older than activity_refresh()), and only then is an idle session deleted."""
    now = now or utcnow()
    row = session.execute(
        select(Officer, OfficerSession.id, OfficerSession.expires_at, OfficerSession.created_at,
               OfficerSession.last_seen_at)
        .join(OfficerSession, OfficerSession.officer_id == Officer.id)
        .where(OfficerSession.token_hash == session_hash(token, SessionKind.WORKSPACE))
    ).first()
    if row is None:
        return WorkspaceLookup(None)
    officer, session_id, expires_at, created_at, last_seen_at = row
    if expires_at <= now or not officer.active:
        return WorkspaceLookup(None)
    quiet = now - (last_seen_at or created_at)
    if quiet >= idle_after:
        if touch:  # a background poll leaves it, so the officer's own next request is told why
            session.execute(delete(OfficerSession).where(OfficerSession.id == session_id))
        return WorkspaceLookup(None, idle=True)
    if touch and quiet >= activity_refresh(idle_after):
        session.execute(update(OfficerSession).where(OfficerSession.id == session_id).values(last_seen_at=now))
    return WorkspaceLookup(officer)


def revoke_session(session: Session, token: str, kind: SessionKind = SessionKind.API) -> None:
    session.execute(delete(OfficerSession).where(OfficerSession.token_hash == session_hash(token, kind)))


def revoke_all_sessions(session: Session, officer_id: int) -> None:
    """Sign an officer out everywhere (a password reset or a deactivated account)."""
    session.execute(delete(OfficerSession).where(OfficerSession.officer_id == officer_id))
