"""How times read on workspace pages: UK local time, and deadlines as time left or how late."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def local_time(moment: datetime | None, *, with_day: bool = True) -> str:
    """'Thu 26 Nov 14:05' in UK time (what officers and residents read on the clock)."""
    if moment is None:
        return ""
    local = moment.astimezone(LONDON)
    if not with_day:
        return local.strftime("%H:%M")
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b %Y %H:%M')}"


def span(delta: timedelta) -> str:
    """A duration in the two largest units that matter: '3 days 4 h', '2 h 15 min', '9 min'."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        day_word = "day" if days == 1 else "days"
        return f"{days} {day_word} {hours} h" if hours else f"{days} {day_word}"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{max(mins, 1)} min" if delta != timedelta(0) else "0 min"


def time_left(due: datetime, now: datetime) -> str:
    """'2 h 15 min left' or '3 days late'."""
    delta = due - now
    if delta >= timedelta(0):
        return f"{span(delta)} left"
    return f"{span(delta)} late"
