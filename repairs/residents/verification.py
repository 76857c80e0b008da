"""Linking a chat to a resident by tenancy reference and postcode, with throttling kept in the database.

The answer is the same whether the reference is unknown or the postcode is wrong, so the check
cannot be used to find out which references exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairs.auth.secrets import digest
from repairs.database import utcnow
from repairs.residents.models import ChannelIdentity, Resident, Tenancy, VerificationAttempt


class VerificationFailed(Exception):
    pass


class TooManyAttempts(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many attempts")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window: timedelta


def _throttle_keys(channel: str, external_id: str, tenancy_reference: str) -> list[str]:
    # Per chat (one person guessing) and per reference (many chats guessing one reference).
    return [digest(f"chat:{channel}:{external_id}"), digest(f"ref:{tenancy_reference}")]


def _check_throttle(session: Session, keys: list[str], throttle: ThrottlePolicy, now: datetime) -> None:
    since = now - throttle.window
    for key in keys:
        count, oldest = session.execute(
            select(func.count(), func.min(VerificationAttempt.attempted_at)).where(
                VerificationAttempt.key_hash == key, VerificationAttempt.attempted_at > since
            )
        ).one()
        if count >= throttle.max_failures:
            retry = int((oldest + throttle.window - now).total_seconds()) + 1 if oldest else 60
            raise TooManyAttempts(max(retry, 1))


def record_failure(session: Session, channel: str, external_id: str, tenancy_reference: str) -> None:
    now = utcnow()
    for key in _throttle_keys(channel, external_id, tenancy_reference):
        session.add(VerificationAttempt(key_hash=key, attempted_at=now))
    # Old attempts are no longer evidence of anything.
    session.execute(delete(VerificationAttempt).where(VerificationAttempt.attempted_at < now - timedelta(days=1)))


def verify_and_link(
    session: Session,
    *,
    tenancy_reference: str,
    postcode: str,
    channel: str,
    external_id: str,
    throttle: ThrottlePolicy,
    tz: tzinfo,
) -> Resident:
    """Return the linked resident, or raise VerificationFailed / TooManyAttempts.

    A tenancy's end date is a date where the home is (`tz`): it verifies until midnight there, not until
    midnight UTC (an hour later in summer). The caller must record a failure in its own committed
    transaction, so throttling survives the rollback of this one. The reference and the postcode come
    written out one way (T-100234, NW1 7AB: the API's schema does it with repairs_common), as the tenancies
    are stored."""
    now = utcnow()
    _check_throttle(session, _throttle_keys(channel, external_id, tenancy_reference), throttle, now)
    row = session.execute(
        select(Tenancy, Resident)
        .join(Resident, Resident.tenancy_id == Tenancy.id)
        .where(Tenancy.reference == tenancy_reference, Resident.is_lead.is_(True))
        .order_by(Resident.id)
        .limit(1)
    ).first()
    if row is None:
        raise VerificationFailed()
    tenancy, resident = row
    ended = tenancy.end_date is not None and tenancy.end_date < now.astimezone(tz).date()
    if tenancy.property.postcode != postcode or ended:
        raise VerificationFailed()
    existing = session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
    )
    if existing is not None:
        # A chat moves to the resident who verified last (a shared phone, a new tenancy).
        existing.resident_id = resident.id
        existing.linked_at = now
    else:
        try:
            with session.begin_nested():
                session.add(ChannelIdentity(resident_id=resident.id, channel=channel, external_id=external_id))
        except IntegrityError:
            # The same chat verified twice at once: the other request already linked it.
            pass
    return resident


def unlink(session: Session, channel: str, external_id: str) -> bool:
    result = session.execute(
        delete(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
