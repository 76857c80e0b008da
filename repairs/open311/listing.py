"""`GET requests`: the filters, the query, and what of a ticket may be shown to an Open311 client.

Repairs in homes are private. A listed request carries only its reference, status, category, dates and
generic wording. The description is shown only for reports that came in through Open311 themselves (and
then only the summary); an address only for shared or outside locations, and then only the block name and
postcode district; coordinates only when the Open311 reporter gave them for a shared or outside fault.
Names, emails, phone numbers, flat addresses, UPRNs and officer notes are never shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from repairs_common.postcodes import find_postcode
from sqlalchemy import select
from sqlalchemy.orm import Session

from repairs.policy.engine import Policy
from repairs.problems import Problem
from repairs.residents.models import Property
from repairs.tickets import lifecycle
from repairs.tickets.models import LocationType, Priority, Status, Ticket, TicketEvent
from repairs.tickets.references import normalise_reference

CHANNEL = "open311"
REPORT_EVENT = "open311_report"  # the ticket event holding what the Open311 client sent besides the ticket
MAX_SPAN = timedelta(days=90)
MAX_LIMIT = 1000
MAX_IDS = 1000

STATUS_NOTES = {
    Status.REPORTED: "Reported: waiting to be assessed.",
    Status.TRIAGED: "Assessed: the work is being arranged.",
    Status.SCHEDULED: "The work has been booked.",
    Status.IN_PROGRESS: "Work is under way.",
    Status.COMPLETED: "The work has been done.",
    Status.CLOSED: "Closed: the repair is finished.",
    Status.CANCELLED: "Cancelled.",
    Status.REOPENED: "Reopened: more work is being arranged.",
    Status.MERGED: "Closed as a duplicate of another report of the same repair.",
}

PRIORITY_NOTES = {
    Priority.EMERGENCY: "Emergency repair.",
    Priority.URGENT: "Urgent repair.",
    Priority.ROUTINE: "Routine repair.",
}

# A block name that looks like part of a flat's address is never shown.
_ADDRESS_WORDS = re.compile(r"\b(flat|apartment|apt|room|maisonette)\b", re.IGNORECASE)
# A '+' in a query string arrives as a space when the client did not encode it ('10:00:00 01:00').
_SPACED_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def _bad(code: str, detail: str) -> Problem:
    return Problem(400, code, "The request is not valid", detail)


def open311_status(status: Status) -> str:
    return "open" if lifecycle.is_open(status) else "closed"


def w3c(when: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 with the council's local offset, to the second: 2025-06-01T10:00:00+01:00."""
    if when is None:
        return None
    return when.astimezone(tz).isoformat(timespec="seconds")


def parse_datetime(raw: str, name: str, tz: ZoneInfo) -> datetime:
    text = raw.strip()
    if not text or len(text) > 40:
        raise _bad("date_invalid", f"{name} must be an ISO 8601 date or date and time.")
    text = _SPACED_OFFSET.sub(r"\1+\2", text)
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _bad("date_invalid", f"{name} must be an ISO 8601 date or date and time.") from None
    if not 1900 <= parsed.year <= 2999:
        raise _bad("date_invalid", f"{name} is out of range.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)  # no offset: council local time
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class RequestFilter:
    references: list[str] | None  # when given, every other filter is ignored (as the spec says)
    service_codes: list[str] | None
    is_open: bool | None
    start: datetime
    end: datetime
    limit: int


def _comma_list(raw: str, name: str, max_items: int) -> list[str]:
    if len(raw) > max_items * 40:
        raise _bad("filter_invalid", f"{name} is too long.")
    items = [p.strip() for p in raw.split(",") if p.strip()]
    if len(items) > max_items:
        raise _bad("filter_invalid", f"{name} may list at most {max_items} values.")
    return items


def parse_filter(params: Mapping[str, str], policy: Policy, now: datetime) -> RequestFilter:
    tz = policy.calendar.tz

    references: list[str] | None = None
    raw_ids = params.get("service_request_id")
    if raw_ids is not None and raw_ids.strip():
        references = []
        for item in _comma_list(raw_ids, "service_request_id", MAX_IDS):
            ref = normalise_reference(item[:20])
            if ref is not None and ref not in references:
                references.append(ref)

    codes: list[str] | None = None
    raw_codes = params.get("service_code")
    if raw_codes is not None and raw_codes.strip():
        codes = _comma_list(raw_codes, "service_code", len(policy.categories))
        unknown = [c for c in codes if c not in policy.categories]
        if unknown:
            raise _bad("service_code_invalid",
                       "service_code lists a code that is not one of ours: see services.json.")

    is_open: bool | None = None
    raw_status = params.get("status")
    if raw_status is not None and raw_status.strip():
        wanted = {s.lower() for s in _comma_list(raw_status, "status", 2)}
        if not wanted <= {"open", "closed"}:
            raise _bad("status_invalid", "status must be open, closed, or open,closed.")
        is_open = None if wanted == {"open", "closed"} else ("open" in wanted)

    raw_start, raw_end = params.get("start_date"), params.get("end_date")
    start = parse_datetime(raw_start, "start_date", tz) if raw_start else None
    end = parse_datetime(raw_end, "end_date", tz) if raw_end else None
    if start is None and end is None:
        end = now
        start = now - MAX_SPAN
    elif start is None:
        assert end is not None
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    if end < start:
        raise _bad("date_range_invalid", "end_date is before start_date.")
    if end - start > MAX_SPAN:
        raise _bad("date_range_too_long", "start_date and end_date may be at most 90 days apart.")

    limit = MAX_LIMIT
    raw_limit = params.get("limit")
    if raw_limit is not None and raw_limit.strip():
        text = raw_limit.strip()
        if not (text.isdigit() and len(text) <= 6 and 1 <= int(text) <= MAX_LIMIT):
            raise _bad("limit_invalid", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
        limit = int(text)

    return RequestFilter(references=references, service_codes=codes, is_open=is_open,
                         start=start, end=end, limit=limit)


@dataclass(frozen=True)
class Row:
    ticket: Ticket
    property_postcode: str | None
    property_block: str | None
    report: dict[str, Any] | None  # the Open311 submission's extra data, for Open311 tickets


def find(session: Session, flt: RequestFilter) -> list[Row]:
    query = select(Ticket, Property.postcode, Property.block).outerjoin(
        Property, Property.id == Ticket.property_id
    )
    if flt.references is not None:
        if not flt.references:
            return []
        query = query.where(Ticket.reference.in_(flt.references))
    else:
        query = query.where(Ticket.reported_at >= flt.start, Ticket.reported_at <= flt.end)
        if flt.service_codes:
            query = query.where(Ticket.category.in_(flt.service_codes))
        if flt.is_open is not None:
            query = query.where(Ticket.is_open.is_(flt.is_open))
    query = query.order_by(Ticket.reported_at.desc(), Ticket.id.desc()).limit(flt.limit)
    rows = session.execute(query).all()
    return _with_reports(session, [(t, pc, blk) for t, pc, blk in rows])


def find_one(session: Session, reference: str) -> Row | None:
    ref = normalise_reference(reference[:20])
    if ref is None:
        return None
    row = session.execute(
        select(Ticket, Property.postcode, Property.block)
        .outerjoin(Property, Property.id == Ticket.property_id)
        .where(Ticket.reference == ref)
    ).first()
    if row is None:
        return None
    return _with_reports(session, [(row[0], row[1], row[2])])[0]


def _with_reports(session: Session, rows: Sequence[tuple[Ticket, str | None, str | None]]) -> list[Row]:
    wanted = [t.id for t, _, _ in rows if t.channel == CHANNEL and t.location_type != LocationType.IN_HOME]
    reports: dict[int, dict[str, Any]] = {}
    if wanted:
        for ticket_id, data in session.execute(
            select(TicketEvent.ticket_id, TicketEvent.data).where(
                TicketEvent.kind == REPORT_EVENT, TicketEvent.ticket_id.in_(wanted)
            )
        ):
            reports[ticket_id] = data or {}
    return [
        Row(ticket=t, property_postcode=postcode, property_block=block, report=reports.get(t.id))
        for t, postcode, block in rows
    ]


def _public_block(row: Row) -> str | None:
    ticket = row.ticket
    if row.property_block is not None:
        block: str | None = row.property_block  # the council's own name for the building
    elif ticket.channel == CHANNEL:
        block = ticket.block  # given by the public reporter
    else:
        block = None
    if block and (_ADDRESS_WORDS.search(block) or find_postcode(block)):
        return None
    return block


def _coordinate(report: Mapping[str, Any], key: str) -> float | None:
    value = report.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def present(row: Row, policy: Policy, *, agency: str) -> dict[str, Any]:
    """One request as the spec lays it out, with only the fields that are safe to share."""
    ticket, tz = row.ticket, policy.calendar.tz
    shared = ticket.location_type != LocationType.IN_HOME
    from_open311 = ticket.channel == CHANNEL
    category = policy.categories.get(ticket.category)

    address = None
    lat = long = None
    if shared:
        district = row.property_postcode.split(" ")[0] if row.property_postcode else None
        if district is None and from_open311 and row.report:
            found = row.report.get("postcode_district")
            district = found if isinstance(found, str) else None
        address = ", ".join(p for p in (_public_block(row), district) if p) or None
        if from_open311 and row.report:
            lat, long = _coordinate(row.report, "lat"), _coordinate(row.report, "long")
            if lat is None or long is None:
                lat = long = None

    return {
        "service_request_id": ticket.reference,
        "status": open311_status(ticket.status),
        "status_notes": STATUS_NOTES.get(ticket.status),
        "service_name": category.name if category else ticket.category,
        "service_code": ticket.category,
        "description": ticket.summary if from_open311 else None,
        "agency_responsible": agency,
        "service_notice": PRIORITY_NOTES.get(ticket.priority),
        "requested_datetime": w3c(ticket.reported_at, tz),
        "updated_datetime": w3c(ticket.updated_at, tz),
        "expected_datetime": w3c(ticket.due_at, tz),
        "address": address,
        "address_id": None,  # a UPRN identifies a home: never shared
        "zipcode": None,  # a full postcode can narrow a home down to a few doors: never shared
        "lat": lat,
        "long": long,
        "media_url": None,
    }
