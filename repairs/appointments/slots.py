"""Free appointment slots from real capacity, and booking one without overbooking under concurrency.

Each booked appointment occupies a numbered seat (one operative) in a trade's slot; a partial
unique index over booked seats means two officers booking the last seat at once cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairs.policy.calendar import WorkingCalendar
from repairs.tickets.models import Appointment, AppointmentStatus

LONDON = ZoneInfo("Europe/London")


class PeriodConfig(BaseModel):
    label: str
    starts: time
    ends: time


class SlotConfig(BaseModel):
    periods: dict[str, PeriodConfig]
    capacity: dict[str, int] = Field(default_factory=lambda: {"default": 3})
    horizon_working_days: int = Field(default=15, ge=1, le=60)
    earliest_working_day: int = Field(default=1, ge=0, le=10)

    def capacity_for(self, trade: str) -> int:
        return self.capacity.get(trade, self.capacity.get("default", 3))


def load_slot_config(data_dir: Path) -> SlotConfig:
    with open(data_dir / "appointments.yml", encoding="utf-8") as fh:
        return SlotConfig.model_validate(yaml.safe_load(fh))


@dataclass(frozen=True)
class Slot:
    slot_id: str  # "2026-12-01:am"
    day: date
    period: str
    label: str
    starts_at: datetime
    ends_at: datetime
    free: int


class SlotUnavailable(Exception):
    pass


def _bounds(day: date, period: PeriodConfig) -> tuple[datetime, datetime]:
    start = datetime.combine(day, period.starts, tzinfo=LONDON)
    end = datetime.combine(day, period.ends, tzinfo=LONDON)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def working_days_ahead(calendar: WorkingCalendar, today: date, first: int, count: int) -> list[date]:
    days: list[date] = []
    day = today
    offset = 0
    while len(days) < count:
        if calendar.is_working_day(day):
            if offset >= first:
                days.append(day)
            offset += 1
        day += timedelta(days=1)
    return days


def free_slots(
    session: Session,
    config: SlotConfig,
    calendar: WorkingCalendar,
    *,
    trade: str,
    now: datetime,
    days: int | None = None,
) -> list[Slot]:
    today = now.astimezone(LONDON).date()
    span = working_days_ahead(
        calendar, today, config.earliest_working_day, min(days or config.horizon_working_days, 60)
    )
    booked = dict(
        ((row.slot_date, row.period), row.n)
        for row in session.execute(
            select(Appointment.slot_date, Appointment.period, func.count().label("n"))
            .where(
                Appointment.trade == trade,
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.slot_date.in_([d.isoformat() for d in span]),
            )
            .group_by(Appointment.slot_date, Appointment.period)
        )
    )
    capacity = config.capacity_for(trade)
    slots = []
    for day in span:
        for name, period in config.periods.items():
            starts, ends = _bounds(day, period)
            if starts <= now:
                continue
            free = capacity - booked.get((day.isoformat(), name), 0)
            if free > 0:
                slots.append(Slot(f"{day.isoformat()}:{name}", day, name, period.label, starts, ends, free))
    return slots


def parse_slot_id(slot_id: str, config: SlotConfig) -> tuple[date, str]:
    day_text, _, period = slot_id.partition(":")
    try:
        day = date.fromisoformat(day_text)
    except ValueError as exc:
        raise SlotUnavailable("That slot is not one we offer.") from exc
    if period not in config.periods:
        raise SlotUnavailable("That slot is not one we offer.")
    return day, period


def book(
    session: Session,
    config: SlotConfig,
    calendar: WorkingCalendar,
    *,
    ticket_id: int,
    trade: str,
    slot_id: str,
    now: datetime,
) -> Appointment:
    """Book the slot for the ticket, cancelling the ticket's previous booking (a move)."""
    day, period = parse_slot_id(slot_id, config)
    offered = {s.slot_id for s in free_slots(session, config, calendar, trade=trade, now=now, days=60)}
    if slot_id not in offered:
        raise SlotUnavailable("That slot is no longer free; please choose another.")
    for previous in session.scalars(
        select(Appointment).where(Appointment.ticket_id == ticket_id, Appointment.status == AppointmentStatus.BOOKED)
    ):
        previous.status = AppointmentStatus.CANCELLED
    session.flush()
    starts, ends = _bounds(day, config.periods[period])
    taken = set(
        session.scalars(
            select(Appointment.seat).where(
                Appointment.trade == trade,
                Appointment.slot_date == day.isoformat(),
                Appointment.period == period,
                Appointment.status == AppointmentStatus.BOOKED,
            )
        )
    )
    for seat in range(config.capacity_for(trade)):
        if seat in taken:
            continue
        appointment = Appointment(
            ticket_id=ticket_id,
            trade=trade,
            slot_date=day.isoformat(),
            period=period,
            seat=seat,
            starts_at=starts,
            ends_at=ends,
            status=AppointmentStatus.BOOKED,
        )
        try:
            with session.begin_nested():
                session.add(appointment)
                session.flush()
            return appointment
        except IntegrityError:
            continue  # someone took this seat a moment ago; try the next
    raise SlotUnavailable("That slot is no longer free; please choose another.")


def describe(appointment: Appointment) -> str:
    starts = appointment.starts_at.astimezone(LONDON)
    ends = appointment.ends_at.astimezone(LONDON)
    return f"{starts:%A} {starts.day} {starts:%B}, between {_clock(starts)} and {_clock(ends)}"


def _clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"
