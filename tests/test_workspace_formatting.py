"""How workspace pages write times: UK clock time (GMT or BST as the date falls), and deadlines as time
left or how late, in the two units that matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from repairs.workspace.formatting import local_time, span, time_left

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=9), "9 min"),
        (timedelta(seconds=20), "1 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=2, minutes=15), "2 h 15 min"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=3, hours=4, minutes=59), "3 days 4 h"),
        (-timedelta(days=2, hours=1), "2 days 1 h"),
    ],
)
def test_span(delta: timedelta, text: str) -> None:
    assert span(delta) == text


def test_time_left_or_how_late() -> None:
    assert time_left(NOW + timedelta(hours=23, minutes=59), NOW) == "23 h 59 min left"
    assert time_left(NOW - timedelta(days=3), NOW) == "3 days late"
    assert time_left(NOW, NOW) == "0 min left"


def test_local_time_follows_the_uk_clock() -> None:
    assert local_time(datetime(2026, 11, 26, 14, 5, tzinfo=UTC)) == "Thu 26 Nov 2026 14:05"  # GMT
    assert local_time(datetime(2026, 7, 1, 14, 5, tzinfo=UTC)) == "Wed 1 Jul 2026 15:05"  # BST
    assert local_time(datetime(2026, 7, 1, 14, 5, tzinfo=UTC), with_day=False) == "15:05"
    assert local_time(None) == ""
