"""A demo estate: blocks, homes, tenants and leaseholders, and tickets in every state.

Deterministic for a given seed, so the demo and the docs can point at the same references.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repairs.database import utcnow
from repairs.policy.engine import Policy
from repairs.residents.models import Property, Resident, Tenancy, Tenure
from repairs.tickets.merging import merge
from repairs.tickets.models import LocationType, Status, Ticket
from repairs.tickets.service import Actor, NewTicket, change_status, create_complaint, create_ticket

BLOCKS = [
    # (block, estate, postcode, floors, has_lift)
    ("Alder House", "Castlehaven Estate", "NW1 8YL", 4, False),
    ("Birch House", "Castlehaven Estate", "NW1 8YN", 4, False),
    ("Cedar Court", "Castlehaven Estate", "NW1 8YP", 3, False),
    ("Derwent Tower", "Regent Fields", "NW5 2TX", 12, True),
]
FIRST = [
    "Amina",
    "Tom",
    "Grace",
    "Kwame",
    "Priya",
    "Sean",
    "Maria",
    "Olu",
    "Fatima",
    "Jack",
    "Chloe",
    "Ibrahim",
    "Nora",
    "Daniel",
    "Leah",
    "Yusuf",
    "Ellen",
    "Marek",
    "Ruth",
    "Hassan",
]
LAST = [
    "Okafor",
    "Byrne",
    "Patel",
    "Hughes",
    "Ahmed",
    "Kowalski",
    "Silva",
    "Murphy",
    "Mensah",
    "Clarke",
    "Begum",
    "Evans",
    "Novak",
    "Osei",
    "Reilly",
    "Khan",
    "Walsh",
    "Adeyemi",
    "Price",
    "Haddad",
]
VULNERABILITIES = [["elderly"], ["disability"], ["young_children"], ["respiratory"]]

REPORTS = [
    (
        "plumbing",
        "The kitchen tap drips all the time and there's water under the sink",
        LocationType.IN_HOME,
        "kitchen",
    ),
    ("heating", "Radiator in the bedroom stays cold even with the heating on", LocationType.IN_HOME, "bedroom"),
    (
        "damp_mould",
        "Black mould spreading on the bathroom ceiling and round the window",
        LocationType.IN_HOME,
        "bathroom",
    ),
    ("electrical", "Light in the hallway keeps flickering and the switch is loose", LocationType.IN_HOME, "hallway"),
    ("doors_windows", "Bedroom window won't close properly, it's really draughty", LocationType.IN_HOME, "bedroom"),
    ("fittings", "Kitchen cupboard door has come off its hinges", LocationType.IN_HOME, "kitchen"),
    ("communal", "Lights on the stairwell between floors 2 and 3 are out", LocationType.COMMUNAL, "stairwell"),
    ("external", "The gate to the bin store is broken and won't shut", LocationType.EXTERNAL, "bin store"),
    ("pests", "Mice in the kitchen, droppings behind the cooker", LocationType.IN_HOME, "kitchen"),
    ("walls_floors", "Big crack in the living room wall getting wider", LocationType.IN_HOME, "living room"),
    ("roofing", "Water coming in through the top floor ceiling when it rains", LocationType.COMMUNAL, "roof"),
    ("fire_safety", "The fire door on our landing doesn't close by itself", LocationType.COMMUNAL, "landing"),
    ("lifts", "The lift is out of order again", LocationType.COMMUNAL, "lift"),
    ("plumbing", "Water pouring through the ceiling from the flat above", LocationType.IN_HOME, "bathroom"),
    ("gas", "I can smell gas near the cooker", LocationType.IN_HOME, "kitchen"),
]

# Each demo ticket is walked along this path to the state it should end in.
PATHS = {
    Status.REPORTED: [],
    Status.TRIAGED: [Status.TRIAGED],
    Status.SCHEDULED: [Status.TRIAGED, Status.SCHEDULED],
    Status.IN_PROGRESS: [Status.TRIAGED, Status.IN_PROGRESS],
    Status.COMPLETED: [Status.TRIAGED, Status.IN_PROGRESS, Status.COMPLETED],
    Status.CLOSED: [Status.TRIAGED, Status.IN_PROGRESS, Status.COMPLETED, Status.CLOSED],
    Status.CANCELLED: [Status.CANCELLED],
    Status.REOPENED: [Status.TRIAGED, Status.IN_PROGRESS, Status.COMPLETED, Status.REOPENED],
}


@dataclass(frozen=True)
class SeedSummary:
    homes: int
    residents: int
    tickets: int
    example_tenant: tuple[str, str]
    example_leaseholder: tuple[str, str]

    def __str__(self) -> str:
        return (
            f"Demo estate ready: {self.homes} homes, {self.residents} residents, {self.tickets} tickets.\n"
            f"  Try a tenant:      tenancy reference {self.example_tenant[0]}, postcode {self.example_tenant[1]}\n"
            f"  Try a leaseholder: tenancy reference {self.example_leaseholder[0]}, "
            f"postcode {self.example_leaseholder[1]}"
        )


def seed_demo(session: Session, policy: Policy, *, homes: int = 50, seed: int = 7) -> SeedSummary:
    if session.scalar(select(func.count()).select_from(Property)):
        raise SystemExit("The database already has homes in it; seed-demo only fills an empty database.")
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    residents: list[Resident] = []
    for n in range(homes):
        block, estate, postcode, floors, _lift = BLOCKS[n % len(BLOCKS)]
        floor = (n // len(BLOCKS)) % floors
        flat = n // len(BLOCKS) + 1
        prop = Property(
            uprn=str(100_023_000_000 + n),
            address_line1=f"Flat {flat}, {block}",
            address_line2=f"{estate}, London",
            postcode=postcode,
            block=block,
            estate=estate,
            floor=floor,
        )
        session.add(prop)
        session.flush()
        tenure = Tenure.LEASEHOLDER if n % 5 == 4 else Tenure.TENANT
        tenancy = Tenancy(
            reference=f"T-{100001 + n}",
            property_id=prop.id,
            tenure=tenure,
            start_date=date(2015, 1, 1) + timedelta(days=rng.randrange(3000)),
        )
        session.add(tenancy)
        session.flush()
        first, last = rng.choice(FIRST), rng.choice(LAST)
        resident = Resident(
            tenancy_id=tenancy.id,
            full_name=f"{first} {last}",
            email=f"{first.lower()}.{last.lower()}{n}@example.invalid",
            phone=f"07700 9{n:05d}",
            vulnerabilities=rng.choice(VULNERABILITIES) if n % 6 == 0 else [],
        )
        session.add(resident)
        residents.append(resident)
    session.flush()

    now = utcnow()
    statuses = list(PATHS)
    tickets = 0
    tenants = [r for r in residents if r.tenure == Tenure.TENANT]
    first_open: dict[str, Ticket] = {}  # the first open ticket of each category, for the merge below
    duplicate: tuple[Ticket, Ticket] | None = None
    for i in range(max(len(statuses) * 3, homes)):
        resident = tenants[i % len(tenants)]
        category, text, location_type, place = REPORTS[i % len(REPORTS)]
        reported = now - timedelta(days=rng.randrange(0, 40), hours=rng.randrange(0, 23))
        ticket = create_ticket(
            session,
            policy,
            NewTicket(
                category=category,
                description=text,
                location_type=location_type,
                location=place,
                channel=rng.choice(["telegram", "web", "telegram", "phone"]),
            ),
            actor=Actor("resident", str(resident.id)),
            resident=resident,
            prop=resident.tenancy.property,
            now=reported,
        ).ticket
        target = statuses[i % len(statuses)]
        officer = Actor("system", "seed-demo")
        for step in PATHS[target]:
            change_status(session, policy, ticket, step, actor=officer, notify=False)
        tickets += 1
        if ticket.is_open:
            main = first_open.setdefault(ticket.category, ticket)
            if duplicate is None and main is not ticket:
                duplicate = (ticket, main)
    if duplicate is not None:
        # One report merged into the ticket for the same job, so the demo shows every state.
        merge(session, policy, *duplicate, actor=Actor("system", "seed-demo"), officer_alert_chat=None)
    session.flush()
    # Two complaints about reopened repairs, so the complaints page has work on it: one just in, one whose
    # acknowledgement is already late.
    # The late one's date is worked out on the calendar, so it is late whatever the weekday or bank holidays.
    reopened = session.scalars(select(Ticket).where(Ticket.status == Status.REOPENED).order_by(Ticket.id)).all()
    for ticket, received in zip(reopened, (now - timedelta(hours=3), _late_complaint_received(policy, now)),
                                strict=False):
        if ticket.resident_id is None:
            continue
        create_complaint(session, policy, resident_id=ticket.resident_id, ticket=ticket,
                         text="It was meant to be fixed, and it is just as bad again.",
                         actor=Actor("resident", str(ticket.resident_id)), now=received)
    session.flush()
    tenant = next(r for r in residents if r.tenure == Tenure.TENANT)
    leaseholder = next(r for r in residents if r.tenure == Tenure.LEASEHOLDER)
    return SeedSummary(
        homes=homes,
        residents=len(residents),
        tickets=tickets,
        example_tenant=(tenant.tenancy.reference, tenant.tenancy.property.postcode),
        example_leaseholder=(leaseholder.tenancy.reference, leaseholder.tenancy.property.postcode),
    )


def _late_complaint_received(policy: Policy, now: datetime, *, overdue: timedelta = timedelta(days=2)) -> datetime:
    """When a stage 1 complaint must have arrived for its acknowledgement to be `overdue` by now."""
    received = now - timedelta(days=1)
    while policy.complaint_deadlines(received, 1)[0] > now - overdue:
        received -= timedelta(days=1)
    return received
