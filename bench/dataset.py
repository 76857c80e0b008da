"""A fresh, migrated benchmark database with residents, an officer and a realistic spread of tickets.

Everything bulk is written with SQLAlchemy Core `insert()` executemany in batches, not through the ORM,
so 200,000 tickets load in well under a minute. Data is deterministic for a given seed.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, insert, select

from repairs.auth.models import Role
from repairs.auth.officers import create_officer
from repairs.database import make_engine
from repairs.migrate import upgrade
from repairs.reports import day_counts
from repairs.residents.models import ChannelIdentity, Property, Resident, Tenancy, Tenure
from repairs.tickets.models import (
    Appointment,
    AppointmentStatus,
    LocationType,
    Photo,
    Priority,
    Status,
    Ticket,
)
from repairs.tickets.references import ALPHABET, LENGTH, TICKET_PREFIX

PG_DATABASE = "repairs_bench"
OFFICER_EMAIL = "bench.officer@council.invalid"
OFFICER_PASSWORD = "bench officer password 1234"
TELEGRAM_BASE = 700_000_000

# Roughly what a London council's repairs mix looks like; categories not listed get weight 2.
CATEGORY_WEIGHTS = {
    "plumbing": 20, "heating": 14, "electrical": 10, "gas": 3, "damp_mould": 10, "roofing": 4,
    "doors_windows": 9, "fittings": 8, "walls_floors": 5, "pests": 4, "lifts": 2, "communal": 5,
    "external": 3, "fire_safety": 2, "other": 1,
}
COMMUNAL = {"roofing", "lifts", "communal", "fire_safety"}
EXTERNAL = {"external"}
DESCRIPTIONS = {
    "plumbing": ["The kitchen tap drips all the time and there's water under the sink",
                 "Toilet keeps running and won't stop filling", "Bath drains really slowly, smells bad"],
    "heating": ["Radiator in the bedroom stays cold even with the heating on",
                "No hot water since this morning, boiler shows an error", "Boiler pressure keeps dropping"],
    "electrical": ["Light in the hallway keeps flickering and the switch is loose",
                   "Socket in the kitchen sparked and now doesn't work", "Extractor fan in bathroom is dead"],
    "gas": ["I can smell gas near the cooker", "Carbon monoxide alarm keeps beeping"],
    "damp_mould": ["Black mould spreading on the bathroom ceiling and round the window",
                   "Damp patch on the bedroom wall keeps getting bigger"],
    "roofing": ["Water coming in through the top floor ceiling when it rains", "Gutter hanging off above flat"],
    "doors_windows": ["Bedroom window won't close properly, it's really draughty", "Front door lock is stiff"],
    "fittings": ["Kitchen cupboard door has come off its hinges", "Worktop lifting near the sink"],
    "walls_floors": ["Big crack in the living room wall getting wider", "Floorboards loose in the hallway"],
    "pests": ["Mice in the kitchen, droppings behind the cooker", "Cockroaches in the bathroom"],
    "lifts": ["The lift is out of order again", "Lift doors keep jamming on the 4th floor"],
    "communal": ["Lights on the stairwell between floors 2 and 3 are out", "Communal door entry buzzer broken"],
    "external": ["The gate to the bin store is broken and won't shut", "Paving slab lifted by the entrance"],
    "fire_safety": ["The fire door on our landing doesn't close by itself", "Smoke alarm in hallway missing"],
    "other": ["Something else is broken, please call me"],
}
PLACES = ["kitchen", "bathroom", "bedroom", "hallway", "living room", "stairwell", "landing", "roof"]
# Status mix: ~30% open, ~70% finished (completed, closed, cancelled).
STATUS_WEIGHTS = {
    Status.REPORTED: 8, Status.TRIAGED: 7, Status.SCHEDULED: 8, Status.IN_PROGRESS: 5, Status.REOPENED: 2,
    Status.COMPLETED: 10, Status.CLOSED: 52, Status.CANCELLED: 8,
}
PRIORITY_WEIGHTS = {Priority.EMERGENCY: 6, Priority.URGENT: 24, Priority.ROUTINE: 70}
WINDOW = {Priority.EMERGENCY: timedelta(hours=24), Priority.URGENT: timedelta(days=5),
          Priority.ROUTINE: timedelta(days=20)}
CHANNEL_WEIGHTS = {"telegram": 45, "web": 20, "whatsapp": 10, "phone": 15, "sms": 3, "email": 5}
ESTATES = ["Castlehaven Estate", "Regent Fields", "Maiden Lane", "Agar Grove", "Kiln Place", "Gospel Oak",
           "Chalcots", "Harmood"]
BLOCK_NAMES = ["Alder", "Birch", "Cedar", "Derwent", "Elm", "Fir", "Hazel", "Juniper", "Larch", "Maple",
               "Oak", "Pine", "Rowan", "Spruce", "Willow", "Yew"]
FIRST = ["Amina", "Tom", "Grace", "Kwame", "Priya", "Sean", "Maria", "Olu", "Fatima", "Jack", "Chloe",
         "Ibrahim", "Nora", "Daniel", "Leah", "Yusuf", "Ellen", "Marek", "Ruth", "Hassan"]
LAST = ["Okafor", "Byrne", "Patel", "Hughes", "Ahmed", "Kowalski", "Silva", "Murphy", "Mensah", "Clarke",
        "Begum", "Evans", "Novak", "Osei", "Reilly", "Khan", "Walsh", "Adeyemi", "Price", "Haddad"]
VULNERABILITIES = [["elderly"], ["disability"], ["young_children"], ["respiratory"]]


@dataclass
class ResidentRow:
    id: int
    property_id: int
    block: str
    external_id: str
    vulnerable: bool

    @property
    def chat(self) -> str:
        return f"telegram:{self.external_id}"


@dataclass
class Population:
    residents: list[ResidentRow]
    officer_id: int


@dataclass
class LoadStats:
    tickets: int = 0
    tickets_seconds: float = 0.0  # generating and inserting
    tickets_insert_seconds: float = 0.0  # of which in insert() executemany
    extras_rows: int = 0  # appointments and photo records
    extras_seconds: float = 0.0
    analyze_seconds: float = 0.0
    people_seconds: float = 0.0
    migrate_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def tickets_per_second(self) -> float:
        return self.tickets / self.tickets_seconds if self.tickets_seconds else 0.0


# -- databases ---------------------------------------------------------------------------------------


def pg_bench_url(admin_url: str) -> str:
    return admin_url.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def _pg_admin(admin_url: str, statement: str) -> None:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        admin.dispose()


def fresh_database(backend: str, *, admin_url: str, sqlite_path: Path) -> str:
    """Drop and recreate the benchmark database; return its URL (not yet migrated)."""
    if backend == "postgresql":
        _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        _pg_admin(admin_url, f'CREATE DATABASE "{PG_DATABASE}"')
        return pg_bench_url(admin_url)
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{sqlite_path}"


def drop_database(backend: str, *, admin_url: str, sqlite_path: Path) -> None:
    if backend == "postgresql":
        _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
    else:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)


def migrate(url: str) -> float:
    started = time.perf_counter()
    upgrade(url)
    return time.perf_counter() - started


def engine_for(url: str) -> Engine:
    """The service's own engine settings (WAL, BEGIN IMMEDIATE on SQLite; pooled on PostgreSQL)."""
    return make_engine(url, pool_size=2)


# -- people ------------------------------------------------------------------------------------------


def load_people(engine: Engine, *, residents: int, rng: random.Random) -> list[ResidentRow]:
    """Homes, tenancies, tenants and their linked Telegram identities. All tenants: a leaseholder's
    non-emergency report can be refused as not the council's responsibility, which would be a 422."""
    blocks = [(f"{name} House", ESTATES[i % len(ESTATES)]) for i, name in enumerate(BLOCK_NAMES)]
    props, tenancies, people = [], [], []
    for n in range(residents):
        block, estate = blocks[n % len(blocks)]
        props.append({
            "uprn": str(100_050_000_000 + n), "address_line1": f"Flat {n // len(blocks) + 1}, {block}",
            "address_line2": f"{estate}, London", "town": "London",
            "postcode": f"NW{1 + n % 9} {n % 10}{ALPHABET[n % 26 + 4]}{ALPHABET[(n // 7) % 26 + 4]}",
            "block": block, "estate": estate, "floor": n % 12,
        })
        tenancies.append({"reference": f"T-{500000 + n}", "tenure": Tenure.TENANT,
                          "start_date": date(2010, 1, 1) + timedelta(days=rng.randrange(5000))})
        first, last = rng.choice(FIRST), rng.choice(LAST)
        people.append({
            "full_name": f"{first} {last}", "email": f"{first.lower()}.{last.lower()}{n}@example.invalid",
            "phone": f"07700 {n:06d}", "is_lead": True,
            "vulnerabilities": rng.choice(VULNERABILITIES) if rng.random() < 0.15 else [],
            "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        })
    with engine.begin() as conn:
        for chunk in _chunks(props, 5000):
            conn.execute(insert(Property), chunk)
        prop_ids = dict(conn.execute(select(Property.uprn, Property.id)).all())
        for n, tenancy in enumerate(tenancies):
            tenancy["property_id"] = prop_ids[props[n]["uprn"]]
        for chunk in _chunks(tenancies, 5000):
            conn.execute(insert(Tenancy), chunk)
        tenancy_ids = dict(conn.execute(select(Tenancy.reference, Tenancy.id)).all())
        for n, person in enumerate(people):
            person["tenancy_id"] = tenancy_ids[tenancies[n]["reference"]]
        for chunk in _chunks(people, 5000):
            conn.execute(insert(Resident), chunk)
        by_tenancy = dict(conn.execute(select(Resident.tenancy_id, Resident.id)).all())
        rows: list[ResidentRow] = []
        identities = []
        for n, person in enumerate(people):
            rid = by_tenancy[person["tenancy_id"]]
            external = str(TELEGRAM_BASE + n)
            identities.append({"resident_id": rid, "channel": "telegram", "external_id": external,
                               "linked_at": datetime(2024, 6, 1, tzinfo=UTC)})
            rows.append(ResidentRow(id=rid, property_id=tenancies[n]["property_id"], block=props[n]["block"],
                                    external_id=external, vulnerable=bool(person["vulnerabilities"])))
        for chunk in _chunks(identities, 5000):
            conn.execute(insert(ChannelIdentity), chunk)
    return rows


def make_officer(engine: Engine) -> int:
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        officer = create_officer(session, email=OFFICER_EMAIL, name="Bench Officer", password=OFFICER_PASSWORD,
                                 role=Role.OFFICER)
        return officer.id


# -- tickets -----------------------------------------------------------------------------------------


def unique_references(count: int, rng: random.Random) -> Iterator[str]:
    seen: set[str] = set()
    while len(seen) < count:
        ref = f"{TICKET_PREFIX}-" + "".join(rng.choices(ALPHABET, k=LENGTH))
        if ref not in seen:
            seen.add(ref)
            yield ref


def _weighted(rng: random.Random, weights: dict[Any, int], k: int) -> list[Any]:
    return rng.choices(list(weights), weights=list(weights.values()), k=k)


class TicketMaker:
    def __init__(self, rng: random.Random, residents: list[ResidentRow], trades: dict[str, str | None],
                 officer_id: int, now: datetime) -> None:
        self.rng = rng
        self.residents = residents
        self.trades = trades
        self.officer_id = officer_id
        self.now = now
        self.category_weights = {code: CATEGORY_WEIGHTS.get(code, 2) for code in trades}

    def batch(self, references: Iterator[str], size: int) -> list[dict[str, Any]]:
        rng, now = self.rng, self.now
        categories = _weighted(rng, self.category_weights, size)
        statuses = _weighted(rng, STATUS_WEIGHTS, size)
        priorities = _weighted(rng, PRIORITY_WEIGHTS, size)
        channels = _weighted(rng, CHANNEL_WEIGHTS, size)
        rows = []
        for i in range(size):
            category, status, priority = categories[i], statuses[i], priorities[i]
            if category == "gas" and rng.random() < 0.8:
                priority = Priority.EMERGENCY
            resident = rng.choice(self.residents) if rng.random() < 0.98 else None
            due_at = now + timedelta(seconds=rng.uniform(-60, 60) * 86400)
            created = min(due_at - WINDOW[priority] - timedelta(seconds=rng.uniform(0, 86400)),
                          now - timedelta(minutes=1))
            is_open = status not in (Status.COMPLETED, Status.CLOSED, Status.CANCELLED)
            finished = created + (due_at - created) * rng.uniform(0.2, 1.1)
            completed_at = finished if status in (Status.COMPLETED, Status.CLOSED) else None
            location_type = (LocationType.COMMUNAL if category in COMMUNAL
                             else LocationType.EXTERNAL if category in EXTERNAL else LocationType.IN_HOME)
            description = rng.choice(DESCRIPTIONS.get(category, DESCRIPTIONS["other"]))
            awaab = category == "damp_mould" or priority == Priority.EMERGENCY
            vulnerable = (resident.vulnerable if resident else False) or rng.random() < 0.05
            rows.append({
                "reference": next(references),
                "resident_id": resident.id if resident else None,
                "property_id": resident.property_id if resident else None,
                "category": category,
                "priority": priority,
                "status": status,
                "is_open": is_open,
                "emergency": priority == Priority.EMERGENCY,
                "summary": description[:230],
                "description": description,
                "location_type": location_type,
                "location": rng.choice(PLACES),
                "block": resident.block if resident and location_type != LocationType.IN_HOME else None,
                "floor": None,
                "access_notes": "Ring twice, dog in flat" if rng.random() < 0.1 else None,
                "availability": "Weekday mornings" if rng.random() < 0.3 else None,
                "vulnerable": vulnerable,
                "channel": channels[i] if resident else "open311",
                "priority_reasons": [f"category_default:{priority.value}"],
                "trade": self.trades.get(category),
                "assigned_officer_id": self.officer_id if is_open and rng.random() < 0.2 else None,
                "reported_at": created,
                "due_at": due_at,
                "make_safe_by": created + timedelta(hours=2) if priority == Priority.EMERGENCY else None,
                "awaab_applies": awaab,
                "awaab_investigate_by": created + timedelta(days=14) if awaab else None,
                "investigated_at": None,
                "awaab_summary_by": None,
                "awaab_safety_work_by": None,
                # Damp and mould only, as the first phase had it: the queue's hazard filter has rows to find.
                "hazard": "damp_mould" if category == "damp_mould" else None,
                "hazard_group": "damp_mould" if category == "damp_mould" else None,
                "completed_at": completed_at,
                "closed_at": finished + timedelta(days=3) if status == Status.CLOSED else None,
                "cancelled_at": finished if status == Status.CANCELLED else None,
                "reopen_count": 1 if status == Status.REOPENED else 0,
                "reporter_name": None if resident else "Member of the public",
                "reporter_email": None if resident else "public@example.invalid",
                "reporter_phone": None,
                "created_at": created,
                "updated_at": completed_at or created,
            })
        return rows


def load_tickets(engine: Engine, *, count: int, residents: list[ResidentRow], trades: dict[str, str | None],
                 officer_id: int, rng: random.Random, batch_size: int = 5000,
                 progress: Any = None) -> tuple[float, float, int, float]:
    """Insert `count` tickets into an empty table; returns (seconds in all, of which inserting,
    appointment and photo rows, their seconds)."""
    load_started = time.perf_counter()
    maker = TicketMaker(rng, residents, trades, officer_id, datetime.now(UTC))
    references = unique_references(count, rng)
    ticket_table = Ticket.__table__
    extras_photos: list[dict[str, Any]] = []
    extras_appointments: list[dict[str, Any]] = []
    seat = 0
    ticket_seconds = 0.0
    done = 0
    while done < count:
        size = min(batch_size, count - done)
        rows = maker.batch(references, size)
        # Explicit ids: RETURNING with sort_by_parameter_order (to learn the ids) is ~6x slower on
        # PostgreSQL because it gives up psycopg's pipelined executemany. The sequence is moved on below.
        ids = range(done + 1, done + size + 1)
        for ticket_id, row in zip(ids, rows, strict=True):
            row["id"] = ticket_id
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(ticket_table), rows)
        ticket_seconds += time.perf_counter() - started
        for ticket_id, row in zip(ids, rows, strict=True):
            status = row["status"]
            if status in (Status.SCHEDULED, Status.COMPLETED, Status.CLOSED) and (
                status == Status.SCHEDULED or rng.random() < 0.3
            ):
                seat += 1
                start = row["due_at"].replace(hour=8 if seat % 2 else 12, minute=0, second=0, microsecond=0)
                extras_appointments.append({
                    "ticket_id": ticket_id, "trade": row["trade"] or "multi_trade",
                    "slot_date": start.date().isoformat(), "period": "am" if seat % 2 else "pm", "seat": seat,
                    "starts_at": start, "ends_at": start + timedelta(hours=4),
                    "status": AppointmentStatus.BOOKED if status == Status.SCHEDULED else AppointmentStatus.ATTENDED,
                    "created_at": row["created_at"],
                })
            if rng.random() < 0.08:
                extras_photos.append({
                    "public_id": f"{rng.getrandbits(128):032x}", "ticket_id": ticket_id,
                    "storage_key": f"bench/{ticket_id}.jpg", "content_type": "image/jpeg", "width": 1280,
                    "height": 960, "size_bytes": 183_000, "sha256": "0" * 64, "uploaded_by": "resident",
                    "created_at": row["created_at"],
                })
        done += size
        if progress:
            progress(done, count)
    started = time.perf_counter()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))"
            )
        for chunk in _chunks(extras_appointments, batch_size):
            conn.execute(insert(Appointment), chunk)
        for chunk in _chunks(extras_photos, batch_size):
            conn.execute(insert(Photo), chunk)
        # The bulk insert bypassed the ORM, which keeps the reports' day counts: work them out, as the
        # migration does for tickets already stored.
        day_counts.rebuild(conn)
    extra_seconds = time.perf_counter() - started
    total = time.perf_counter() - load_started - extra_seconds
    return total, ticket_seconds, len(extras_appointments) + len(extras_photos), extra_seconds


def analyze(engine: Engine, backend: str, url: str) -> float:
    """PostgreSQL: VACUUM (ANALYZE) (statistics plus the visibility map a long-lived table would have);
    SQLite: ANALYZE and a WAL checkpoint."""
    started = time.perf_counter()
    if backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
    else:
        path = url.removeprefix("sqlite:///")
        con = sqlite3.connect(path, isolation_level=None)
        try:
            con.execute("ANALYZE")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
    return time.perf_counter() - started


def residents_with_about(engine: Engine, target: int, limit: int = 200) -> list[int]:
    """Resident ids with close to `target` tickets (for the resident list scenario)."""
    from sqlalchemy import func

    counts = sa.select(Ticket.resident_id, func.count().label("n")).where(
        Ticket.resident_id.is_not(None)).group_by(Ticket.resident_id).subquery()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(counts.c.resident_id).order_by(func.abs(counts.c.n - target), counts.c.resident_id)
            .limit(limit)
        ).scalars().all()
    return list(rows)


def ticket_counts(engine: Engine) -> dict[str, int]:
    from sqlalchemy import func

    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(Ticket)) or 0
        open_ = conn.scalar(select(func.count()).select_from(Ticket).where(Ticket.is_open.is_(True))) or 0
        open_emergency = conn.scalar(
            select(func.count()).select_from(Ticket).where(
                Ticket.is_open.is_(True), Ticket.priority == Priority.EMERGENCY)
        ) or 0
    return {"tickets": total, "open": open_, "open_emergency": open_emergency}


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]
