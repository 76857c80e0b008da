"""Who repairs what: tenants (the council, almost always); leaseholders (structure and shared parts)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from repairs.policy.engine import Policy, Responsibility
from repairs.policy.loader import load_policy
from repairs.residents.models import Tenure
from repairs.tickets.models import LocationType

DATA_DIR = Path(__file__).parent.parent / "data"
IN_HOME = LocationType.IN_HOME


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(DATA_DIR)


@pytest.mark.parametrize(
    "category",
    [
        "plumbing",
        "heating",
        "electrical",
        "gas",
        "fittings",
        "doors_windows",
        "walls_floors",
        "damp_mould",
        "pests",
        "roofing",
        "lifts",
        "other",
    ],
)
def test_tenants_get_council_repairs(policy: Policy, category: str) -> None:
    r = policy.responsibility(Tenure.TENANT, category, IN_HOME, "it is broken")
    assert isinstance(r, Responsibility)
    assert r.responsible == "council"
    assert "council tenant" in r.reason
    assert "charge" in r.reason  # damage caused by the household may be recharged


@pytest.mark.parametrize(
    ("category", "text"),
    [
        ("plumbing", "the kitchen tap is leaking"),
        ("fittings", "kitchen cupboard door hanging off"),
        ("electrical", "bedroom socket not working"),
        ("walls_floors", "laminate floor lifting in the hallway"),
        ("doors_windows", "bedroom door handle came off"),
        ("damp_mould", "condensation and mould in the bathroom"),
        ("pests", "mice in the kitchen"),
    ],
)
def test_leaseholder_inside_the_flat_is_theirs(policy: Policy, category: str, text: str) -> None:
    r = policy.responsibility(Tenure.LEASEHOLDER, category, IN_HOME, text)
    assert r.responsible == "resident"
    assert "leaseholder" in r.reason
    assert r.advice


def test_leaseholder_boiler_is_theirs_with_gas_safe_advice(policy: Policy) -> None:
    r = policy.responsibility(Tenure.LEASEHOLDER, "heating", IN_HOME, "my boiler has packed up")
    assert r.responsible == "resident"
    assert "boiler" in r.reason
    assert r.advice is not None
    assert "Gas Safe" in r.advice
    assert "0800 111 999" in r.advice and "free" in r.advice


def test_leaseholder_gas_smell_is_still_an_emergency(policy: Policy) -> None:
    # Whose boiler it is does not change the safety advice.
    text = "I can smell gas by my boiler"
    r = policy.responsibility(Tenure.LEASEHOLDER, "gas", IN_HOME, text)
    assert r.responsible == "resident"
    assert r.advice is not None and "0800 111 999" in r.advice
    a = policy.assess("gas", text, vulnerable=False, tenure=Tenure.LEASEHOLDER, at=datetime(2026, 6, 1, tzinfo=UTC))
    assert a.emergency and a.advice is not None and "0800 111 999" in a.advice


@pytest.mark.parametrize("location", [LocationType.COMMUNAL, LocationType.EXTERNAL])
@pytest.mark.parametrize("category", ["electrical", "plumbing", "doors_windows", "other"])
def test_leaseholder_shared_and_outside_parts_are_the_councils(
    policy: Policy, category: str, location: LocationType
) -> None:
    r = policy.responsibility(Tenure.LEASEHOLDER, category, location, "")
    assert r.responsible == "council"
    assert "freeholder" in r.reason


@pytest.mark.parametrize("category", ["roofing", "lifts", "communal", "external", "fire_safety"])
def test_leaseholder_building_categories_are_the_councils(policy: Policy, category: str) -> None:
    assert policy.responsibility(Tenure.LEASEHOLDER, category, IN_HOME, "").responsible == "council"


@pytest.mark.parametrize(
    ("category", "text", "rule"),
    [
        ("plumbing", "leak from the flat above", "water_from_above"),
        ("plumbing", "water coming through my ceiling", "water_from_above"),
        ("walls_floors", "ceiling stained, neighbours upstairs had a leak", "water_from_above"),
        ("heating", "communal heating not working", "communal_heating"),
        ("heating", "radiators cold, we're on district heating", "communal_heating"),
        ("electrical", "the riser cupboard is sparking", "shared_supply"),
        ("damp_mould", "damp coming through the outside wall", "structure_and_exterior"),
        ("doors_windows", "window frame is rotten", "structure_and_exterior"),
        ("walls_floors", "big crack in the external wall", "structure_and_exterior"),
        ("damp_mould", "water getting in from the roof", "structure_and_exterior"),
    ],
)
def test_leaseholder_structure_and_shared_origin_is_the_councils(
    policy: Policy, category: str, text: str, rule: str
) -> None:
    r = policy.responsibility(Tenure.LEASEHOLDER, category, IN_HOME, text)
    assert r.responsible == "council", rule
    assert policy.responsibility_rule(Tenure.LEASEHOLDER, category, IN_HOME, text) == f"rule:{rule}"


def test_leaseholder_unclear_is_checked_by_the_council(policy: Policy) -> None:
    r = policy.responsibility(Tenure.LEASEHOLDER, "other", IN_HOME, "something's wrong")
    assert r.responsible == "council"
    assert "lease" in r.reason


def test_both_ways_for_the_same_repair(policy: Policy) -> None:
    text = "kitchen tap dripping"
    tenant = policy.responsibility(Tenure.TENANT, "plumbing", IN_HOME, text)
    leaseholder = policy.responsibility(Tenure.LEASEHOLDER, "plumbing", IN_HOME, text)
    assert (tenant.responsible, leaseholder.responsible) == ("council", "resident")
    assert tenant.reason != leaseholder.reason


def test_plain_strings_are_accepted(policy: Policy) -> None:
    r = policy.responsibility("leaseholder", "lifts", "communal")  # type: ignore[arg-type]
    assert r.responsible == "council"


def test_unknown_category(policy: Policy) -> None:
    with pytest.raises(KeyError):
        policy.responsibility(Tenure.TENANT, "spaceship", IN_HOME)


def test_no_placeholders_left(policy: Policy) -> None:
    for tenure in Tenure:
        for code in policy.categories:
            for location in LocationType:
                r = policy.responsibility(tenure, code, location, "")
                assert "{" not in r.reason and "{" not in (r.advice or "")
