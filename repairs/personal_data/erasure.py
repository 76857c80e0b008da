"""Erasing a resident at their request (UK GDPR art. 17), beyond what /forget_me does.

/forget_me only unlinks one chat. An erasure removes everything personal the service holds about the resident
that the law does not make the council keep: their name and contact details, needs on record, chats, photos,
the conversation with the assistant, the messages sent to them, the words of their reports, complaints, ratings
and call-back requests. What must be kept is kept anonymised rather than deleted: a repair's record on a
council-owned home (the landlord's repairing obligation and the limitation period: data/retention.yml,
ticket_details), and that complaints, ratings and call-backs happened (the figures the regulator and the
Ombudsman ask for). The resident row stays, nameless and unverifiable, so those records keep their counts.

The resident is told on each chat they had linked what was erased, what was kept and why, through the outbox
(a row addressed to the chat itself, since the resident's link to it is gone once the erasure commits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from repairs.channels import state as chat_state
from repairs.idempotency.models import IdempotencyRecord
from repairs.listening.store import forget_resident
from repairs.notifications.models import Notification
from repairs.notifications.outbox import enqueue_to_chat
from repairs.personal_data.models import DataProtectionEvent
from repairs.personal_data.removal import (
    delete_photos,
    remove_complaint_words,
    remove_ticket_audit_text,
    remove_ticket_details,
)
from repairs.personal_data.schedule import RetentionSchedule
from repairs.personal_data.subject_access import ResidentNotFound
from repairs.personal_data.tracker_store import TrackerStore
from repairs.photos.storage import PhotoStore
from repairs.residents.models import ChannelIdentity, Resident
from repairs.tickets.models import CallbackRequest, Complaint, LinkedResident, Photo, Rating, Ticket

ERASED_NAME = "Erased resident"
NOTICE_KIND = "erasure_notice"


class AlreadyErased(Exception):
    pass


@dataclass(frozen=True)
class Erasure:
    counts: dict[str, int]
    notices: int


def notice_text(*, repairs_kept: int, still_open: int, complaints_kept: int, keep_for: str, phone: str) -> str:
    """What the resident is told: what went, what stayed and why, in plain words."""
    parts = [
        "As you asked, we have erased the personal details we held about you: your name and contact details, "
        "your conversations with this assistant, your photos, the messages we sent you, and your own words in "
        "your repair reports, complaints and ratings."
    ]
    if repairs_kept:
        parts.append(
            f"We have kept the record of {repairs_kept} repair{'s' if repairs_kept != 1 else ''} to your home "
            "(what was wrong, when it was reported and what we did), without your name or words, because the "
            f"council must keep the repair record of a home it owns for {keep_for} after the work is finished."
        )
    if still_open:
        parts.append(
            f"{still_open} of those repair{'s are' if still_open != 1 else ' is'} still open: we will still do the "
            f"work, but we can no longer message you about it. Call {phone} for news."
        )
    if complaints_kept:
        parts.append(
            f"We have kept that you made {complaints_kept} complaint{'s' if complaints_kept != 1 else ''}, with "
            "the dates and stages but without your words, because we must report complaint handling to the "
            "Housing Ombudsman."
        )
    parts.append("This chat is no longer linked to your tenancy.")
    return " ".join(parts)


def erase_resident(session: Session, photos: PhotoStore, tracker: TrackerStore | None, resident_id: int, *,
                   schedule: RetentionSchedule, officer_id: int | None, phone: str, now: datetime,
                   listening_secret: bytes | None) -> Erasure:
    """Erase in the caller's transaction. The conversation in Rasa's tracker store is deleted first: if that
    store cannot be reached, the whole erasure fails and can simply be asked for again.

    Everything a chat said before it was verified is theirs too, and found by the chat rather than the
    resident: the tracker's conversation by its sender id, listening's rows by the chat's keyed hash
    (`listening_secret`, repairs/listening/store.py), the bot's chat state by the chat."""
    resident = session.scalar(select(Resident).where(Resident.id == resident_id).with_for_update())
    if resident is None:
        raise ResidentNotFound(resident_id)
    if resident.erased_at is not None:
        raise AlreadyErased(resident_id)
    identities = session.execute(
        select(ChannelIdentity.id, ChannelIdentity.channel, ChannelIdentity.external_id)
        .where(ChannelIdentity.resident_id == resident_id).order_by(ChannelIdentity.id)
    ).all()
    conversation_events = tracker.erase([f"{c}:{e}" for _, c, e in identities]) if tracker is not None else 0

    owned = session.execute(select(Ticket.id, Ticket.is_open).where(Ticket.resident_id == resident_id)).all()
    ticket_ids = [ticket_id for ticket_id, _ in owned]
    still_open = sum(1 for _, is_open in owned if is_open)
    photo_ids = session.scalars(select(Photo.id).where(Photo.ticket_id.in_(ticket_ids))).all() if ticket_ids else []
    complaint_ids = session.scalars(select(Complaint.id).where(Complaint.resident_id == resident_id)).all()

    counts = {
        "repairs_anonymised": remove_ticket_details(session, ticket_ids, now=now),
        "repairs_still_open": still_open,
        "photos_deleted": delete_photos(session, photos, photo_ids),
        "complaints_anonymised": remove_complaint_words(session, complaint_ids, now=now),
        "conversation_events_deleted": conversation_events,
        "chats_unlinked": len(identities),
    }
    remove_ticket_audit_text(session, ticket_ids, now=now)
    counts["ratings_comments_removed"] = _count(session.execute(
        update(Rating).where(Rating.resident_id == resident_id, Rating.comment.is_not(None)).values(comment=None)
        .execution_options(synchronize_session=False)))
    counts["callbacks_anonymised"] = _count(session.execute(
        update(CallbackRequest).where(CallbackRequest.resident_id == resident_id).values(reason="")
        .execution_options(synchronize_session=False)))
    # What listening kept of their words (redacted, but theirs): verified messages carry their id; what their
    # chats said before verifying carries only the chat's hash.
    counts["listening_deleted"] = forget_resident(session, resident_id, secret=listening_secret,
                                                  chats=[(c, e) for _, c, e in identities])
    counts["messages_deleted"] = _count(session.execute(
        delete(Notification).where(Notification.resident_id == resident_id)
        .execution_options(synchronize_session=False)))
    session.execute(delete(LinkedResident).where(LinkedResident.resident_id == resident_id)
                    .execution_options(synchronize_session=False))
    principal = f"resident:{resident_id}"
    session.execute(delete(IdempotencyRecord).where(or_(IdempotencyRecord.principal == principal,
                                                        IdempotencyRecord.principal.startswith(principal + ":")))
                    .execution_options(synchronize_session=False))

    text = notice_text(repairs_kept=len(ticket_ids), still_open=still_open, complaints_kept=len(complaint_ids),
                       keep_for=schedule.years("ticket_details"), phone=phone)
    for identity_id, channel, external_id in identities:
        enqueue_to_chat(session, delivery_key=f"erasure:{resident_id}:{identity_id}", channel=channel,
                        external_id=external_id, kind=NOTICE_KIND, text=text)
        chat_state.erase_chat(session, channel, external_id)
    session.execute(delete(ChannelIdentity).where(ChannelIdentity.resident_id == resident_id)
                    .execution_options(synchronize_session=False))
    resident.full_name = ERASED_NAME
    resident.email = None
    resident.phone = None
    resident.vulnerabilities = []
    resident.erased_at = now
    session.add(DataProtectionEvent(at=now, officer_id=officer_id, resident_id=resident_id, kind="erasure",
                                    counts=counts))
    return Erasure(counts=counts, notices=len(identities))


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
