"""A subject access export: everything held about one resident, as one zip archive, and its audit entry.

UK GDPR art. 15: the resident is entitled to a copy of their personal data. The archive holds JSON files a
person (or another system) can read, the photos as they were stored, and a README saying what each file is.
What the resident wrote reaches the service three ways, and all three are in it: the reports and additions on
their tickets (tickets.json), their complaints and ratings, and the whole conversation with the assistant from
Rasa's tracker store (conversations.json).
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from repairs.notifications.models import Notification
from repairs.personal_data.models import DataProtectionEvent
from repairs.personal_data.tracker_store import TrackerStore
from repairs.photos.storage import EXTENSIONS, PhotoStore
from repairs.residents.models import ChannelIdentity, Resident
from repairs.tickets.models import (
    Appointment,
    CallbackRequest,
    Complaint,
    ComplaintEvent,
    LinkedResident,
    Photo,
    Rating,
    Ticket,
    TicketEvent,
)

README = """\
Personal data held about one resident by the repairs service, exported {at} (UTC).

resident.json       who you are to us: name, contact details, needs on record, your home and tenancy, the chats
                    linked to you
tickets.json        the repairs you reported or were linked to, with every change recorded on each, and visits
messages.json       the messages we sent you (or tried to) about your repairs
complaints.json     your complaints, with what happened at each stage
ratings.json        how you rated finished repairs
callbacks.json      the times you asked us to call you
conversations.json  your conversations with the assistant, message by message{tracker_note}
photos/             the photos on your repairs, as we stored them
"""


class ResidentNotFound(Exception):
    pass


# An archive up to this size stays in memory; a larger one is written to a temporary file on disk.
SPOOL_IN_MEMORY = 1024 * 1024
# The piece of the archive read and sent at a time.
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Export:
    """The archive, open at its start: the caller sends it with `chunks()`, which closes it once sent."""

    filename: str
    file: IO[bytes]
    size: int
    counts: dict[str, Any]

    def chunks(self) -> Iterator[bytes]:
        try:
            while chunk := self.file.read(CHUNK):
                yield chunk
        finally:
            self.file.close()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def sender_ids(session: Session, resident_id: int) -> list[str]:
    """The resident's chats as Rasa knows them (`<channel>:<id>`, repairs_common.channels)."""
    rows = session.execute(select(ChannelIdentity.channel, ChannelIdentity.external_id)
                           .where(ChannelIdentity.resident_id == resident_id).order_by(ChannelIdentity.id)).all()
    return [f"{channel}:{external_id}" for channel, external_id in rows]


def build_export(session: Session, photos: PhotoStore, tracker: TrackerStore | None, resident_id: int, *,
                 officer_id: int | None, now: datetime) -> Export:
    """The archive, and its audit entry added to `session` (so the export and its record commit together)."""
    resident = session.get(Resident, resident_id)
    if resident is None:
        raise ResidentNotFound(resident_id)
    tenancy = resident.tenancy
    home = tenancy.property
    identities = session.scalars(select(ChannelIdentity).where(ChannelIdentity.resident_id == resident_id)
                                 .order_by(ChannelIdentity.id)).all()
    profile = {
        "name": resident.full_name, "email": resident.email, "phone": resident.phone,
        "needs_on_record": list(resident.vulnerabilities or []), "lead_tenant": resident.is_lead,
        "erased_at": _iso(resident.erased_at),
        "tenancy": {"reference": tenancy.reference, "tenure": tenancy.tenure.value,
                    "start_date": tenancy.start_date.isoformat(),
                    "end_date": tenancy.end_date.isoformat() if tenancy.end_date else None},
        "home": {"uprn": home.uprn, "address": [p for p in (home.address_line1, home.address_line2) if p],
                 "town": home.town, "postcode": home.postcode, "block": home.block, "estate": home.estate},
        "chats": [{"channel": i.channel, "id": i.external_id, "linked_at": _iso(i.linked_at)} for i in identities],
    }
    linked = select(LinkedResident.ticket_id).where(LinkedResident.resident_id == resident_id)
    tickets = session.scalars(select(Ticket).where(or_(Ticket.resident_id == resident_id, Ticket.id.in_(linked)))
                              .order_by(Ticket.id)).all()
    ticket_ids = [t.id for t in tickets]
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids))
                             .order_by(TicketEvent.id)).all() if ticket_ids else []
    visits = session.scalars(select(Appointment).where(Appointment.ticket_id.in_(ticket_ids))
                             .order_by(Appointment.id)).all() if ticket_ids else []
    ticket_out = []
    for t in tickets:
        ticket_out.append({
            "reference": t.reference, "yours": t.resident_id == resident_id, "category": t.category,
            "priority": t.priority.value, "status": t.status.value, "summary": t.summary,
            "description": t.description, "location": t.location, "access_notes": t.access_notes,
            "availability": t.availability, "facts": t.facts, "channel": t.channel,
            "reported_at": _iso(t.reported_at), "due_at": _iso(t.due_at), "completed_at": _iso(t.completed_at),
            "closed_at": _iso(t.closed_at), "cancelled_at": _iso(t.cancelled_at),
            "history": [{"at": _iso(e.at), "by": e.actor_type, "what": e.kind, "from": e.from_status,
                         "to": e.to_status, "details": e.data} for e in events if e.ticket_id == t.id],
            "visits": [{"trade": v.trade, "date": v.slot_date, "period": v.period, "status": v.status.value}
                       for v in visits if v.ticket_id == t.id],
        })
    messages = session.scalars(select(Notification).where(Notification.resident_id == resident_id)
                               .order_by(Notification.id)).all()
    message_out = [{"written_at": _iso(n.created_at), "sent_at": _iso(n.sent_at), "status": n.status.value,
                    "channel": n.channel, "kind": n.kind, "text": (n.payload or {}).get("text")} for n in messages]
    complaints = session.scalars(select(Complaint).where(Complaint.resident_id == resident_id)
                                 .order_by(Complaint.id)).all()
    complaint_ids = [c.id for c in complaints]
    c_events = session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id.in_(complaint_ids))
                               .order_by(ComplaintEvent.id)).all() if complaint_ids else []
    complaint_out = [{
        "reference": c.reference, "stage": c.stage, "status": c.status, "text": c.text, "response": c.response,
        "received_at": _iso(c.created_at), "acknowledged_at": _iso(c.acknowledged_at),
        "answered_at": _iso(c.responded_at),
        "history": [{"at": _iso(e.at), "by": e.actor_type, "what": e.kind, "stage": e.stage, "details": e.data}
                    for e in c_events if e.complaint_id == c.id],
    } for c in complaints]
    refs = {t.id: t.reference for t in tickets}
    ratings = session.scalars(select(Rating).where(Rating.resident_id == resident_id).order_by(Rating.id)).all()
    rating_out = [{"repair": refs.get(r.ticket_id), "score": r.score, "comment": r.comment,
                   "given_at": _iso(r.created_at)} for r in ratings]
    callbacks = session.scalars(select(CallbackRequest).where(CallbackRequest.resident_id == resident_id)
                                .order_by(CallbackRequest.id)).all()
    callback_out = [{"asked_at": _iso(c.created_at), "reason": c.reason, "channel": c.channel, "status": c.status}
                    for c in callbacks]
    senders = sender_ids(session, resident_id)
    conversations: dict[str, list[dict[str, Any]]] = {}
    if tracker is not None:
        conversations = {sender: [asdict(line) for line in lines]
                         for sender, lines in tracker.conversation(senders).items()}
    photo_rows = session.scalars(select(Photo).where(Photo.ticket_id.in_(ticket_ids))
                                 .order_by(Photo.id)).all() if ticket_ids else []

    # The archive goes to a temporary file, never wholly into memory: a resident with hundreds of photos would
    # otherwise hold the service's memory for the whole download. Photos are read one at a time and stored
    # as they are (JPEG and PNG do not deflate); only the JSON is compressed.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, mode="w+b")  # noqa: SIM115 - returned open
    photo_count = 0
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            note = "" if tracker is not None else (
                "\n                    (empty: this service was not given the assistant's conversation store; "
                "ask the\n                    system administrator for it)")
            archive.writestr("README.txt", README.format(at=now.strftime("%Y-%m-%d %H:%M"), tracker_note=note))
            archive.writestr("resident.json", _json(profile))
            archive.writestr("tickets.json", _json(ticket_out))
            archive.writestr("messages.json", _json(message_out))
            archive.writestr("complaints.json", _json(complaint_out))
            archive.writestr("ratings.json", _json(rating_out))
            archive.writestr("callbacks.json", _json(callback_out))
            archive.writestr("conversations.json", _json(conversations))
            for photo in photo_rows:
                try:
                    data = photos.open(photo.storage_key)
                except KeyError:  # the file is gone (removed under the retention schedule mid-export): say so
                    archive.writestr(f"photos/{photo.public_id}.missing.txt", "This photo's file was not found.\n")
                    continue
                extension = EXTENSIONS.get(photo.content_type, "bin")
                archive.writestr(f"photos/{refs.get(photo.ticket_id, 'repair')}-{photo.public_id}.{extension}",
                                 data, compress_type=zipfile.ZIP_STORED)
                del data  # one photo in memory at a time
                photo_count += 1
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    counts = {"tickets": len(ticket_out), "messages": len(message_out), "complaints": len(complaint_out),
              "ratings": len(rating_out), "callbacks": len(callback_out), "photos": photo_count,
              "conversation_events": sum(len(lines) for lines in conversations.values()),
              "conversations_included": tracker is not None}
    session.add(DataProtectionEvent(at=now, officer_id=officer_id, resident_id=resident_id, kind="export",
                                    counts=counts))
    return Export(filename=f"subject-access-{tenancy.reference}-{now:%Y%m%d}.zip", file=spool, size=size,
                  counts=counts)
