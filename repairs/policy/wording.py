"""Deadlines in plain words, in the council's local time, in GOV.UK style ("by Friday 4 December")."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from repairs.policy.calendar import require_aware

SOON = timedelta(hours=48)
# Spelt out rather than strftime's %A and %B, which follow the process locale.
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def clock_time(when: datetime) -> str:
    """'3pm', '3:15pm', 'midday'."""
    if when.hour == 12 and when.minute == 0:
        return "midday"
    hour = when.hour % 12 or 12
    suffix = "am" if when.hour < 12 else "pm"
    return f"{hour}{suffix}" if when.minute == 0 else f"{hour}:{when.minute:02d}{suffix}"


def day_and_date(when: datetime, now: datetime) -> str:
    """'Friday 4 December', with the year only when it is not this year."""
    text = f"{DAYS[when.weekday()]} {when.day} {MONTHS[when.month - 1]}"
    return text if when.year == now.year else f"{text} {when.year}"


def _duration(delta: timedelta) -> str:
    minutes = math.ceil(delta.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    hours = math.ceil(minutes / 60)
    return f"{hours} hour" + ("" if hours == 1 else "s")


def describe_deadline(when: datetime, now: datetime, tz: ZoneInfo) -> str:
    when_utc = require_aware(when, "when")
    now_utc = require_aware(now, "now")
    local = when_utc.astimezone(tz)
    local_now = now_utc.astimezone(tz)

    # A working-day deadline ends at 23:59:59 (or exactly midnight): say "the end of" that day.
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        local -= timedelta(seconds=1)
    end_of_day = (local.hour, local.minute) == (23, 59)
    days_ahead = (local.date() - local_now.date()).days
    if days_ahead == 0:
        relative = "today"
    elif days_ahead == 1:
        relative = "tomorrow"
    elif days_ahead == -1:
        relative = "yesterday"
    else:
        relative = ""

    if when_utc <= now_utc:
        if relative:
            at = f"the end of {relative}" if end_of_day else f"{clock_time(local)} {relative}"
        else:
            at = (
                day_and_date(local, local_now)
                if end_of_day
                else (f"{clock_time(local)} on {day_and_date(local, local_now)}")
            )
        return f"overdue (it was due by {at})"

    delta = when_utc - now_utc
    if delta >= SOON:
        return f"by {day_and_date(local, local_now)}"
    if end_of_day:
        target = f"the end of {relative}" if relative else f"the end of {DAYS[local.weekday()]}"
        return f"by {target}"
    at = f"{clock_time(local)} {relative}" if relative else f"{clock_time(local)} on {DAYS[local.weekday()]}"
    return f"within {_duration(delta)} (by {at})"
