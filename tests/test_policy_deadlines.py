"""Repair deadlines, Awaab's Law clocks, complaint deadlines and deadlines in plain words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from repairs.policy.engine import Deadlines, Policy
from repairs.policy.loader import load_policy
from repairs.residents.models import Tenure

DATA_DIR = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(DATA_DIR)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def deadlines_for(
    policy: Policy,
    category: str,
    text: str,
    at: datetime,
    *,
    tenure: Tenure | None = Tenure.TENANT,
    vulnerable: bool = False,
) -> Deadlines:
    assessment = policy.assess(category, text, vulnerable=vulnerable, tenure=tenure, at=at)
    return policy.deadlines(assessment, category, at)


# -- repair timescales ------------------------------------------------------------------------------


def test_routine_is_twenty_working_days(policy: Policy) -> None:
    d = deadlines_for(policy, "fittings", "kitchen drawer broken", utc(2026, 12, 23, 10))
    assert d.due_at == utc(2027, 1, 25, 23, 59, 59)
    assert d.make_safe_by is None and d.awaab_investigate_by is None and d.awaab_safety_work_by is None


def test_urgent_is_five_working_days_across_christmas(policy: Policy) -> None:
    d = deadlines_for(policy, "lifts", "lift out of order", utc(2026, 12, 23, 10))
    assert d.due_at == utc(2027, 1, 4, 23, 59, 59)


def test_urgent_reported_on_saturday(policy: Policy) -> None:
    d = deadlines_for(policy, "lifts", "lift out of order", utc(2026, 1, 10, 14))
    assert d.due_at == utc(2026, 1, 19, 23, 59, 59)


def test_emergency_is_24_clock_hours_even_on_christmas_day(policy: Policy) -> None:
    at = utc(2026, 12, 25, 15, 30)
    d = deadlines_for(policy, "plumbing", "water pouring through the ceiling", at, tenure=Tenure.LEASEHOLDER)
    assert d.due_at == at + timedelta(hours=24)
    assert d.make_safe_by == at + timedelta(hours=24)
    assert d.awaab_investigate_by is None  # leaseholder


def test_emergency_across_the_october_clock_change_is_24_real_hours(policy: Policy) -> None:
    at = utc(2026, 10, 24, 12)  # 1pm BST on Saturday; clocks go back at 2am Sunday
    d = deadlines_for(policy, "other", "I can smell gas", at)
    assert d.due_at == utc(2026, 10, 25, 12)  # midday GMT on Sunday: 24 hours later, not 25
    assert d.due_at - at == timedelta(hours=24)


def test_all_outputs_are_aware_utc(policy: Policy) -> None:
    d = deadlines_for(policy, "damp_mould", "mould", utc(2026, 6, 1, 9))
    for value in (d.due_at, d.awaab_investigate_by):
        assert value is not None and value.tzinfo is UTC


def test_naive_reported_at_is_rejected(policy: Policy) -> None:
    assessment = policy.assess("plumbing", "leak", vulnerable=False, tenure=None, at=utc(2026, 6, 1, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        policy.deadlines(assessment, "plumbing", datetime(2026, 6, 1, 9))


# -- Awaab's Law --------------------------------------------------------------------------------------


def test_tenant_damp_investigate_within_ten_working_days(policy: Policy) -> None:
    # Monday 14 Dec 2026: 15, 16, 17, 18, 21, 22, 23, 24, [25, 28 closed], 29, 30 Dec.
    d = deadlines_for(policy, "damp_mould", "black mould in the baby's room", utc(2026, 12, 14, 9))
    assert d.awaab_investigate_by == utc(2026, 12, 30, 23, 59, 59)
    assert d.awaab_safety_work_by is None  # not until investigated
    assert d.make_safe_by is None


def test_leaseholder_damp_has_no_awaab_clock(policy: Policy) -> None:
    d = deadlines_for(policy, "damp_mould", "black mould", utc(2026, 12, 14, 9), tenure=Tenure.LEASEHOLDER)
    assert d.awaab_investigate_by is None


def test_tenant_emergency_hazard_investigate_and_make_safe_in_24_hours(policy: Policy) -> None:
    at = utc(2026, 3, 28, 22)
    d = deadlines_for(policy, "electrical", "sparks coming out of the socket", at)
    assert d.awaab_investigate_by == at + timedelta(hours=24)
    assert d.make_safe_by == at + timedelta(hours=24)


def test_after_investigation_summary_3_and_safety_work_5_working_days(policy: Policy) -> None:
    summary_by, safety_by = policy.awaab_after_investigation(utc(2026, 12, 24, 10))
    assert summary_by == utc(2026, 12, 31, 23, 59, 59)  # 29, 30, 31 Dec
    assert safety_by == utc(2027, 1, 5, 23, 59, 59)  # 29, 30, 31 Dec, [1 Jan], 4, 5 Jan


def test_after_investigation_in_summer_time(policy: Policy) -> None:
    summary_by, safety_by = policy.awaab_after_investigation(utc(2026, 6, 1, 9))  # Monday
    assert summary_by == utc(2026, 6, 4, 22, 59, 59)
    assert safety_by == utc(2026, 6, 8, 22, 59, 59)


def test_further_works_within_12_weeks(policy: Policy) -> None:
    assert policy.awaab_further_works_by(utc(2026, 1, 5, 10)) == utc(2026, 3, 30, 22, 59, 59)


# -- complaints --------------------------------------------------------------------------------------


def test_stage_1_complaint(policy: Policy) -> None:
    ack, respond = policy.complaint_deadlines(utc(2026, 11, 2, 10), 1)
    assert ack == utc(2026, 11, 9, 23, 59, 59)
    assert respond == utc(2026, 11, 23, 23, 59, 59)  # 10 working days after the acknowledgement


def test_stage_2_complaint(policy: Policy) -> None:
    ack, respond = policy.complaint_deadlines(utc(2026, 11, 2, 10), 2)
    assert ack == utc(2026, 11, 9, 23, 59, 59)
    assert respond == utc(2026, 12, 7, 23, 59, 59)  # 20 working days after the acknowledgement


def test_complaint_over_christmas(policy: Policy) -> None:
    ack, respond = policy.complaint_deadlines(utc(2026, 12, 24, 16), 1)
    assert ack == utc(2027, 1, 5, 23, 59, 59)  # 29, 30, 31 Dec, [1 Jan], 4, 5 Jan
    assert policy.calendar.working_days_between(ack, respond) == 10


def test_unknown_complaint_stage(policy: Policy) -> None:
    with pytest.raises(ValueError, match="stage"):
        policy.complaint_deadlines(utc(2026, 11, 2, 10), 3)


# -- deadlines in plain words -------------------------------------------------------------------------


NOW = utc(2026, 12, 3, 15)  # Thursday 3 December 2026, 3pm GMT


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (utc(2026, 12, 4, 15), "within 24 hours (by 3pm tomorrow)"),
        (utc(2026, 12, 3, 17, 15), "within 3 hours (by 5:15pm today)"),
        (utc(2026, 12, 3, 15, 20), "within 20 minutes (by 3:20pm today)"),
        (utc(2026, 12, 4, 9), "within 18 hours (by 9am tomorrow)"),
        (utc(2026, 12, 4, 12), "within 21 hours (by midday tomorrow)"),
        (utc(2026, 12, 5, 11), "within 44 hours (by 11am on Saturday)"),
        (utc(2026, 12, 4, 23, 59, 59), "by the end of tomorrow"),
        (utc(2026, 12, 11, 23, 59, 59), "by Friday 11 December"),
        (utc(2027, 1, 4, 23, 59, 59), "by Monday 4 January 2027"),
        (utc(2026, 12, 3, 12), "overdue (it was due by midday today)"),
        (utc(2026, 12, 1, 23, 59, 59), "overdue (it was due by Tuesday 1 December)"),
    ],
)
def test_describe_deadline(policy: Policy, when: datetime, expected: str) -> None:
    assert policy.describe_deadline(when, NOW) == expected


def test_describe_deadline_uses_local_time(policy: Policy) -> None:
    # 8am UTC in June is 9am in London.
    assert policy.describe_deadline(utc(2026, 6, 2, 8), utc(2026, 6, 1, 8)) == "within 24 hours (by 9am tomorrow)"
    # A working-day deadline (23:59:59 BST = 22:59:59 UTC) is the end of that local day.
    assert policy.describe_deadline(utc(2026, 6, 12, 22, 59, 59), utc(2026, 6, 1, 8)) == "by Friday 12 June"
    # 11:30pm UTC on 1 June is 12:30am on 2 June in London: "tomorrow" from 8am on the 1st.
    assert "by 12:30am tomorrow" in policy.describe_deadline(utc(2026, 6, 1, 23, 30), utc(2026, 6, 1, 8))


def test_describe_deadline_rejects_naive(policy: Policy) -> None:
    with pytest.raises(ValueError):
        policy.describe_deadline(datetime(2026, 12, 4, 15), NOW)
