"""Run only by tests/test_clock_option.py, in a pytest of its own started with `--clock`: it checks from inside
that run that every clock the service reads shows the instant asked for, and that time runs on from there.
(Not named test_*.py, so the suite does not collect it on its own.)"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from repairs.database import utcnow
from tests.conftest import parse_clock

# The probe's pytest starts in a few seconds; a minute leaves room on a busy machine.
SLACK = timedelta(minutes=1)


def check_clocks(asked: datetime) -> None:
    """Fail unless every clock reads `asked`, or a little after it."""
    now = utcnow()
    assert asked <= now < asked + SLACK, f"utcnow() is {now.isoformat()}, not {asked.isoformat()}"
    assert asked.timestamp() <= time.time() < (asked + SLACK).timestamp()
    assert abs(datetime.now(UTC) - now) < SLACK
    assert date.today() in {(asked + d).astimezone().date() for d in (timedelta(0), SLACK)}


def test_every_clock_shows_the_instant_asked_for(request: pytest.FixtureRequest) -> None:
    check_clocks(parse_clock(request.config.getoption("--clock")))


def test_time_runs_on() -> None:
    first = utcnow()
    time.sleep(0.05)
    assert utcnow() > first


def test_a_day_passes_within_a_test(request: pytest.FixtureRequest, clock_traveller: time_machine.Traveller) -> None:
    clock_traveller.shift(timedelta(days=1))
    assert utcnow() > parse_clock(request.config.getoption("--clock")) + timedelta(days=1)


def test_the_next_test_starts_at_the_instant_again(request: pytest.FixtureRequest) -> None:
    check_clocks(parse_clock(request.config.getoption("--clock")))
