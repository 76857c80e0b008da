"""The period's tickets as CSV, in the shape a housing management system imports, streamed row by row.

Columns follow the HACT/OSCRE repairs data standard where it names a field (the UPRN as the property key,
the 230-character description of work, a 1-5 priority code, the required completion date) and the
service's own names elsewhere. Times are ISO 8601 in the council's time zone with their UTC offset, so an
import cannot mistake British Summer Time for UTC.

No resident's name, phone or e-mail is exported: the tenancy reference is the key a housing system joins
on. A cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return)
is prefixed with an apostrophe, because descriptions and addresses come from the public.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repairs.policy.taxonomy import Category
from repairs.reports.period import Period
from repairs.residents.models import Property, Resident, Tenancy
from repairs.tickets.models import Priority, Status, Ticket

# Hackney's HACT priority codes: 1 immediate, 2 emergency, 3 urgent, 4 normal, 5 inspection.
HACT_PRIORITY_CODE = {Priority.EMERGENCY: "2", Priority.URGENT: "3", Priority.ROUTINE: "4"}

COLUMNS = (
    "reference", "uprn", "address_line1", "address_line2", "town", "postcode", "block", "estate",
    "location_type", "location", "category", "category_name", "trade_code", "priority", "hact_priority_code",
    "emergency", "status", "description_of_work", "reported_at", "target_completion", "make_safe_by",
    "completed_at", "closed_at", "cancelled_at", "completed_within_target", "reopen_count", "tenancy_reference",
    "tenure", "vulnerable_household", "awaab_law_applies", "channel", "hhsrs_hazard", "awaab_hazard_group",
)
FORMULA_STARTS = frozenset("=+-@\t\r")
BATCH = 1000


def safe_cell(value: str) -> str:
    """Neutralise spreadsheet formula injection (OWASP's advice: a leading apostrophe)."""
    return "'" + value if value[:1] in FORMULA_STARTS else value


def _when(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def ticket_rows(session: Session, period: Period, categories: Mapping[str, Category]) -> Iterator[list[str]]:
    """Tickets reported in the period, oldest first, read from a server-side cursor in batches. Plain
    columns, not ORM objects: an export of 100,000 rows should not build 100,000 Ticket instances."""
    tz = period.tz
    t = Ticket
    query = (
        select(t.reference, Property.uprn, Property.address_line1, Property.address_line2, Property.town,
               Property.postcode, t.block, Property.estate, t.location_type, t.location, t.category, t.trade,
               t.priority, t.emergency, t.status, t.summary, t.reported_at, t.due_at, t.make_safe_by,
               t.completed_at, t.closed_at, t.cancelled_at, t.reopen_count, Tenancy.reference, Tenancy.tenure,
               t.vulnerable, t.awaab_applies, t.channel, t.hazard, t.hazard_group)
        .outerjoin(Property, Property.id == t.property_id)
        .outerjoin(Resident, Resident.id == t.resident_id)
        .outerjoin(Tenancy, Tenancy.id == Resident.tenancy_id)
        # A merged duplicate is the same job as the ticket it joined: the housing system gets that one only.
        .where(t.reported_at >= period.start, t.reported_at < period.end, t.status != Status.MERGED)
        .order_by(t.reported_at, t.id)
    )
    # Core rows straight from the connection: the ORM's per-row loading would double the cost.
    rows = session.connection().execution_options(yield_per=BATCH).execute(query)
    for (reference, uprn, line1, line2, town, postcode, block, estate, location_type, location, category_code,
         trade, priority, emergency, status, summary, reported_at, due_at, make_safe_by, completed_at, closed_at,
         cancelled_at, reopen_count, tenancy_ref, tenure, vulnerable, awaab, channel, hazard, hazard_group) in rows:
        category = categories.get(category_code)
        within = None if completed_at is None else completed_at <= due_at
        yield [
            reference, uprn or "", line1 or "", line2 or "", town or "", postcode or "", block or "", estate or "",
            location_type.value, location or "", category_code, category.name if category else "", trade or "",
            priority.value, HACT_PRIORITY_CODE.get(priority, ""), _yes_no(emergency), status.value, summary,
            _when(reported_at, tz), _when(due_at, tz), _when(make_safe_by, tz), _when(completed_at, tz),
            _when(closed_at, tz), _when(cancelled_at, tz), _yes_no(within), str(reopen_count), tenancy_ref or "",
            tenure.value if tenure else "", _yes_no(vulnerable), _yes_no(awaab), channel, hazard or "",
            hazard_group or "",
        ]


def csv_text(rows: Iterable[list[str]], *, chunk_rows: int = 500) -> Iterator[str]:
    """The header, then the rows, a few hundred to each string yielded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    pending = 0
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def export_csv(sessions: sessionmaker[Session], period: Period, categories: Mapping[str, Category]) -> Iterator[str]:
    """The whole export; its session lives exactly as long as the response is being streamed."""
    with sessions() as session, session.begin():
        yield from csv_text(ticket_rows(session, period, categories))
