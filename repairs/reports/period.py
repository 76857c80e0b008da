"""A reporting period: whole local days, first to last inclusive, held as a half-open UTC range [start, end).

Officers pick dates as the council sees them (Europe/London by default), so a period's edges are local
midnights: a repair finished at 00:30 BST on the 1st belongs to the 1st, not to the day before in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 366  # a year (a leap year's too): longer periods are a different report, not a slower one
DEFAULT_DAYS = 28


class PeriodError(ValueError):
    """The dates asked for do not make a period; the message says why in plain words."""


@dataclass(frozen=True)
class Week:
    """A Monday-to-Sunday week, cut to the period where the period starts or ends inside it."""

    monday: date
    start: datetime
    end: datetime

    @property
    def next_monday(self) -> date:
        return self.monday + timedelta(days=7)


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, self.tz)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last_day + timedelta(days=1), self.tz)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def weeks(self) -> list[Week]:
        monday = self.first_day - timedelta(days=self.first_day.weekday())
        out = []
        while monday <= self.last_day:
            start = max(local_midnight(monday, self.tz), self.start)
            end = min(local_midnight(monday + timedelta(days=7), self.tz), self.end)
            out.append(Week(monday=monday, start=start, end=end))
            monday += timedelta(days=7)
        return out

    def describe(self) -> str:
        return f"{self.first_day:%-d %b %Y} to {self.last_day:%-d %b %Y}"


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def parse_period(first: str | None, last: str | None, *, today: date, tz: ZoneInfo) -> Period:
    """`first` and `last` are ISO dates (either may be empty): by default the last four weeks to today."""
    try:
        last_day = date.fromisoformat(last) if last else today
        first_day = date.fromisoformat(first) if first else last_day - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise PeriodError("Give dates as YYYY-MM-DD, for example 2026-11-01.") from None
    if first_day > last_day:
        raise PeriodError("The period's first day is after its last day.")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise PeriodError(f"A period can be at most {MAX_DAYS} days long.")
    return Period(first_day=first_day, last_day=last_day, tz=tz)
