"""What the policy tests share: the shipped policy file, and a winter and a summer weekday morning (cold months
and the time of day change some decisions, so tests name the instant rather than reading the clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from repairs.policy.engine import Policy
from repairs.policy.loader import load_policy

DATA_DIR = Path(__file__).parent.parent / "data"
WINTER = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
TEST_OUT_OF_HOURS_PHONE = "020 7000 0000"


def shipped_policy() -> Policy:
    """data/policy.yml as shipped, with a recognisable out-of-hours number for the advice texts."""
    return load_policy(DATA_DIR, out_of_hours_phone=TEST_OUT_OF_HOURS_PHONE)
