"""Working days: weekends, England's bank holidays, local time and clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from repairs.policy.calendar import WorkingCalendar

LONDON_BST = timezone(timedelta(hours=1))


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekends_are_not_working_days(cal: WorkingCalendar) -> None:
    assert cal.is_working_day(date(2026, 6, 5))  # Friday
    assert not cal.is_working_day(date(2026, 6, 6))  # Saturday
    assert not cal.is_working_day(date(2026, 6, 7))  # Sunday
    assert cal.is_working_day(date(2026, 6, 8))  # Monday


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 12, 25),  # Christmas Day, a Friday
        date(2026, 12, 28),  # Monday, substitute for Boxing Day (Saturday 26th)
        date(2027, 1, 1),  # New Year's Day
        date(2027, 3, 26),  # Good Friday 2027
        date(2027, 3, 29),  # Easter Monday 2027
        date(2026, 5, 4),  # early May bank holiday
        date(2026, 5, 25),  # spring bank holiday
        date(2026, 8, 31),  # summer bank holiday (England, not Scotland)
        date(2027, 12, 27),  # Christmas Day 2027 (a Saturday) observed
        date(2027, 12, 28),  # Boxing Day 2027 (a Sunday) observed
    ],
)
def test_england_bank_holidays(cal: WorkingCalendar, holiday: date) -> None:
    assert not cal.is_working_day(holiday)


def test_days_around_christmas_2026(cal: WorkingCalendar) -> None:
    assert cal.is_working_day(date(2026, 12, 24))
    assert cal.is_working_day(date(2026, 12, 29))
    assert cal.is_working_day(date(2026, 12, 31))


def test_extra_closures_and_regions() -> None:
    closed = WorkingCalendar(extra_closures=[date(2026, 12, 24)])
    assert not closed.is_working_day(date(2026, 12, 24))
    # Scotland keeps 2 January; England does not.
    assert WorkingCalendar(subdiv="ENG").is_working_day(date(2026, 1, 2))
    assert not WorkingCalendar(subdiv="SCT").is_working_day(date(2026, 1, 2))


def test_unknown_region_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="bank holiday region"):
        WorkingCalendar(subdiv="XYZ")


def test_five_working_days_from_a_wednesday(cal: WorkingCalendar) -> None:
    # Wednesday 3 June 2026 (BST): day 0, then Thu, Fri, Mon, Tue, Wed 10 June.
    due = cal.add_working_days(utc(2026, 6, 3, 9), 5)
    assert due == utc(2026, 6, 10, 22, 59, 59)  # 23:59:59 BST
    assert due.tzinfo is UTC


def test_zero_working_days_is_end_of_report_day(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(utc(2026, 1, 14, 9), 0) == utc(2026, 1, 14, 23, 59, 59)


def test_report_on_saturday_counts_from_monday(cal: WorkingCalendar) -> None:
    # Saturday 10 January 2026: Monday 12th is day 0, so 5 working days is Monday 19th.
    assert cal.add_working_days(utc(2026, 1, 10, 11), 5) == utc(2026, 1, 19, 23, 59, 59)
    # The same as a report made first thing on the Monday.
    assert cal.add_working_days(utc(2026, 1, 10, 11), 5) == cal.add_working_days(utc(2026, 1, 12, 8), 5)


def test_report_on_a_bank_holiday_counts_from_the_next_working_day(cal: WorkingCalendar) -> None:
    # Easter Monday 6 April 2026 -> Tuesday 7th is day 0 -> 1 working day is Wednesday 8th.
    assert cal.add_working_days(utc(2026, 4, 6, 10), 1) == utc(2026, 4, 8, 22, 59, 59)


def test_local_date_decides_the_report_day(cal: WorkingCalendar) -> None:
    # 23:30 UTC on Friday 5 June 2026 is 00:30 BST on Saturday: it counts from Monday.
    assert cal.add_working_days(utc(2026, 6, 5, 23, 30), 1) == utc(2026, 6, 9, 22, 59, 59)
    # 22:30 UTC the same Friday is still Friday in London.
    assert cal.add_working_days(utc(2026, 6, 5, 22, 30), 1) == utc(2026, 6, 8, 22, 59, 59)


def test_five_working_days_across_christmas_2026(cal: WorkingCalendar) -> None:
    # Wed 23 Dec: Thu 24 (1), [Fri 25, Sat, Sun, Mon 28 closed], Tue 29 (2), Wed 30 (3), Thu 31 (4),
    # [Fri 1 Jan closed], Mon 4 Jan (5).
    assert cal.add_working_days(utc(2026, 12, 23, 10), 5) == utc(2027, 1, 4, 23, 59, 59)


def test_twenty_working_days_across_christmas_2026(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(utc(2026, 12, 23, 10), 20) == utc(2027, 1, 25, 23, 59, 59)


def test_easter_2027_and_the_clocks_going_forward(cal: WorkingCalendar) -> None:
    # Thu 25 Mar 2027: Good Friday 26th and Easter Monday 29th are closed; BST starts Sunday 28th.
    due = cal.add_working_days(utc(2027, 3, 25, 10), 5)
    assert due == utc(2027, 4, 5, 22, 59, 59)  # Monday 5 April, 23:59:59 BST


def test_early_may_bank_holiday(cal: WorkingCalendar) -> None:
    # Friday 1 May 2026, 1 working day: Monday 4th is the bank holiday, so Tuesday 5th.
    assert cal.add_working_days(utc(2026, 5, 1, 10), 1) == utc(2026, 5, 5, 22, 59, 59)


def test_end_of_day_follows_the_october_clock_change(cal: WorkingCalendar) -> None:
    # Clocks go back on Sunday 25 October 2026: Friday 23rd is BST, Friday 30th is GMT.
    assert cal.add_working_days(utc(2026, 10, 23, 10), 0) == utc(2026, 10, 23, 22, 59, 59)
    assert cal.add_working_days(utc(2026, 10, 23, 10), 5) == utc(2026, 10, 30, 23, 59, 59)


def test_end_of_day_follows_the_march_clock_change(cal: WorkingCalendar) -> None:
    # Clocks go forward on Sunday 29 March 2026.
    assert cal.add_working_days(utc(2026, 3, 27, 10), 0) == utc(2026, 3, 27, 23, 59, 59)
    assert cal.add_working_days(utc(2026, 3, 27, 10), 1) == utc(2026, 3, 30, 22, 59, 59)


def test_accepts_any_aware_timezone_and_returns_utc(cal: WorkingCalendar) -> None:
    local = datetime(2026, 6, 3, 10, tzinfo=LONDON_BST)
    assert cal.add_working_days(local, 5) == cal.add_working_days(utc(2026, 6, 3, 9), 5)


def test_naive_datetimes_are_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_days(datetime(2026, 6, 3, 10), 5)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.working_days_between(datetime(2026, 6, 3, 10), utc(2026, 6, 4))


def test_negative_working_days_are_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(utc(2026, 6, 3), -1)


def test_working_days_between(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(utc(2026, 12, 23, 10), utc(2027, 1, 4, 12)) == 5
    assert cal.working_days_between(utc(2026, 6, 5, 10), utc(2026, 6, 5, 17)) == 0
    assert cal.working_days_between(utc(2026, 6, 5, 10), utc(2026, 6, 8, 9)) == 1  # Fri -> Mon
    assert cal.working_days_between(utc(2026, 6, 6, 10), utc(2026, 6, 8, 9)) == 0  # Sat -> Mon
    assert cal.working_days_between(utc(2026, 6, 8, 9), utc(2026, 6, 5, 10)) == -1


@pytest.mark.parametrize("n", [0, 1, 5, 10, 20, 45])
@pytest.mark.parametrize(
    "start",
    [utc(2026, 12, 23, 10), utc(2026, 1, 10, 11), utc(2027, 3, 25, 23, 30), utc(2026, 10, 24, 23, 30)],
)
def test_working_days_between_inverts_add(cal: WorkingCalendar, start: datetime, n: int) -> None:
    assert cal.working_days_between(start, cal.add_working_days(start, n)) == n
