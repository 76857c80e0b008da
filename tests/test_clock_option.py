"""`pytest --clock=...` (tests/conftest.py) really moves the test process to another instant: a pytest of its
own is started with the option and checks its clocks from inside (tests/clock_probe.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from repairs.database import utcnow
from tests.clock_probe import check_clocks
from tests.conftest import ROOT, parse_clock

# An instant no run of the suite will meet by chance, so a probe that saw the real clock would fail.
ELSEWHERE = "2031-02-03T04:05:06+00:00"


def test_the_clock_option_moves_the_test_process_to_that_instant() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"REPAIRS_TEST_CLOCK", "PYTEST_ADDOPTS"}}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/clock_probe.py", f"--clock={ELSEWHERE}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 passed" in run.stdout
    assert f"clock: each test starts at {ELSEWHERE} (time runs on)" in run.stdout


def test_the_probe_fails_on_a_clock_that_was_not_moved() -> None:
    with pytest.raises(AssertionError, match="utcnow"):
        check_clocks(utcnow() + timedelta(days=3650))


@pytest.mark.parametrize("value", ["2026-12-07T08:30:00", "2026-12-07", "next monday"])
def test_an_instant_without_an_offset_is_refused_with_a_clear_message(value: str) -> None:
    with pytest.raises(pytest.UsageError, match="--clock"):
        parse_clock(value)


def test_awkward_day_moves_the_clock_to_each_instant(awkward_day: datetime) -> None:
    check_clocks(awkward_day)
