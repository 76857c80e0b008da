"""Working days for repair and complaint deadlines: weekends, bank holidays and local council closures.

Bank holidays come from the `holidays` package (`country_holidays("GB", subdiv="ENG")` knows England's
bank holidays, substitute days such as Boxing Day observed on a Monday, and one-off days such as a state
funeral), so nobody maintains a hand-written list. Every datetime going in must be timezone-aware; every
datetime coming out is aware UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

END_OF_DAY = time(23, 59, 59)


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return `value` in UTC, or raise ValueError if it is naive."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)


class WorkingCalendar:
    """Counts working days in the council's local time zone."""

    def __init__(self, tz: str = "Europe/London", subdiv: str = "ENG", extra_closures: Iterable[date] = ()) -> None:
        self.tz = ZoneInfo(tz)
        self.subdiv = subdiv
        self.extra_closures: frozenset[date] = frozenset(extra_closures)
        self._years: dict[int, frozenset[date]] = {}
        self._lock = threading.Lock()
        # Fail now, not on the first deadline, if the subdivision is unknown.
        try:
            holidays.country_holidays("GB", subdiv=subdiv, years=[])
        except NotImplementedError as exc:
            raise ValueError(f"unknown UK bank holiday region {subdiv!r} (use ENG, WLS, SCT or NIR)") from exc

    def __repr__(self) -> str:
        return f"WorkingCalendar(tz={self.tz.key!r}, subdiv={self.subdiv!r})"

    # -- days -----------------------------------------------------------------

    def bank_holidays(self, year: int) -> frozenset[date]:
        """The bank holidays in `year` (observed days included)."""
        found = self._years.get(year)
        if found is None:
            with self._lock:
                found = self._years.get(year)
                if found is None:
                    found = frozenset(holidays.country_holidays("GB", subdiv=self.subdiv, years=year))
                    self._years[year] = found
        return found

    def is_working_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            d = self.local_date(d)
        if d.weekday() >= 5:
            return False
        return d not in self.extra_closures and d not in self.bank_holidays(d.year)

    def next_working_day(self, d: date, *, inclusive: bool = True) -> date:
        """The first working day on or after `d` (strictly after it when `inclusive` is False)."""
        if not inclusive:
            d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    # -- local time -----------------------------------------------------------

    def local_date(self, when: datetime, name: str = "datetime") -> date:
        return require_aware(when, name).astimezone(self.tz).date()

    def end_of_day(self, d: date) -> datetime:
        """23:59:59 local time on `d`, as aware UTC (correct on both sides of a clock change)."""
        return datetime.combine(d, END_OF_DAY, tzinfo=self.tz).astimezone(UTC)

    # -- arithmetic -----------------------------------------------------------

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The end (23:59:59 local) of the Nth working day after `start`, as aware UTC.

        The report day is day 0. A report made on a weekend or holiday counts from the next working
        day, which becomes day 0. `n=0` is the end of day 0.
        """
        if n < 0:
            raise ValueError(f"n must be zero or more, got {n}")
        d = self.next_working_day(self.local_date(start, "start"))
        for _ in range(n):
            d = self.next_working_day(d, inclusive=False)
        return self.end_of_day(d)

    def add_calendar_days(self, start: datetime, days: int) -> datetime:
        """The end (23:59:59 local) of the day `days` calendar days after `start`, as aware UTC."""
        return self.end_of_day(self.local_date(start, "start") + timedelta(days=days))

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after `start`'s (effective) day up to and including `end`'s day.

        The inverse of `add_working_days`: `working_days_between(s, add_working_days(s, n)) == n`.
        Negative when `end` is before `start`.
        """
        start_day = self.local_date(start, "start")
        end_day = self.local_date(end, "end")
        if end_day < start_day:
            return -self.working_days_between(end, start)
        d = self.next_working_day(start_day)
        count = 0
        while d < end_day:
            d = self.next_working_day(d, inclusive=False)
            if d <= end_day:
                count += 1
        return count
