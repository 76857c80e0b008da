"""Linking a chat to a resident by tenancy reference and postcode (throttled: verify_throttle.py).

The answer is the same whether the reference is unknown or the postcode is wrong, so the check
cannot be used to find out which references exist.
"""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairs.database import utcnow
from repairs.residents.models import ChannelIdentity, Resident, Tenancy


class VerificationFailed(Exception):
    pass


def verify_and_link(
    session: Session,
    *,
    tenancy_reference: str,
    postcode: str,
    channel: str,
    external_id: str,
    tz: tzinfo,
) -> Resident:
    """Return the linked resident, or raise VerificationFailed.

    A tenancy's end date is a date where the home is (`tz`): it verifies until midnight there, not until
    midnight UTC (an hour later in summer). The caller counts the attempt first, in its own committed
    transaction (verify_throttle.begin_attempt), so throttling survives the rollback of this one. The
    reference and the postcode come written out one way (T-100234, NW1 7AB: the API's schema does it with
    repairs_common), as the tenancies are stored."""
    now = utcnow()
    row = session.execute(
        select(Tenancy, Resident)
        .join(Resident, Resident.tenancy_id == Tenancy.id)
        .where(Tenancy.reference == tenancy_reference, Resident.is_lead.is_(True), Resident.erased_at.is_(None))
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
