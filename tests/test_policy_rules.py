"""Priority assessment: emergency rules, their look-alikes, gas safety, vulnerability and Awaab's Law."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from repairs.policy.engine import Assessment, Policy
from repairs.residents.models import Tenure
from repairs.tickets.models import LocationType, Priority
from tests.policy_fixtures import SUMMER, WINTER, shipped_policy


@pytest.fixture(scope="module")
def policy() -> Policy:
    return shipped_policy()


def assess(
    policy: Policy,
    category: str,
    text: str,
    *,
    vulnerable: bool = False,
    tenure: Tenure | None = Tenure.TENANT,
    at: datetime = WINTER,
    **kwargs: object,
) -> Assessment:
    return policy.assess(category, text, vulnerable=vulnerable, tenure=tenure, at=at, **kwargs)  # type: ignore[arg-type]


# -- gas and carbon monoxide ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "text"),
    [
        ("heating", "I can smell gas by the boiler"),
        ("other", "smell gas in the kitchen"),
        ("other", "it smells of gas in here"),
        ("plumbing", "gas leak!!"),
        ("other", "i smel gas"),
        ("other", "Gas leek in the flat"),
        ("other", "there's a funny smell, might be gas"),
        ("other", "smells like rotten eggs near the cooker"),
        ("fittings", "I smelt gas earlier, not sure if it's still there"),
    ],
)
@pytest.mark.parametrize("tenure", [Tenure.TENANT, Tenure.LEASEHOLDER, None])
def test_gas_is_always_an_emergency_with_the_gas_number(
    policy: Policy, category: str, text: str, tenure: Tenure | None
) -> None:
    a = assess(policy, category, text, tenure=tenure, at=SUMMER)
    assert a.priority is Priority.EMERGENCY
    assert a.emergency
    assert a.advice_key == "gas"
    assert a.advice is not None
    assert "0800 111 999" in a.advice
    assert "rule:gas" in a.reasons


def test_gas_advice_says_what_to_do(policy: Policy) -> None:
    advice = policy.advice("gas")
    for needed in (
        "0800 111 999",
        "0800 371 787",
        "0800 002 001",
        "999",
        "light switches",
        "naked flames",
        "smoke",
        "windows",
        "meter",
        "Leave the property",
    ):
        assert needed in advice
    assert "{out_of_hours_phone}" not in advice
    assert "020 7000 0000" in advice


def test_a_gas_appliance_fault_without_a_smell_is_urgent_not_an_emergency(policy: Policy) -> None:
    # DOMAIN.md: the emergency is a smell of gas or carbon monoxide, not every gas appliance fault.
    for text in ("gas hob igniter clicks but won't light", "need my gas meter looking at", "gas fire won't stay lit"):
        a = assess(policy, "gas", text, tenure=Tenure.TENANT, at=SUMMER)
        assert a.priority is Priority.URGENT and not a.emergency, text
    smell = assess(policy, "gas", "gas fire won't stay lit and I can smell gas", tenure=Tenure.TENANT, at=SUMMER)
    assert smell.emergency and smell.advice_key == "gas"


@pytest.mark.parametrize(
    "text",
    [
        "there's no smell of gas now",
        "I can't smell gas any more",
        "no gas smell, just the boiler pressure is low",
        "my gas bill is too high",
        "gas safety check is due",
    ],
)
def test_gas_look_alikes_are_not_emergencies(policy: Policy, text: str) -> None:
    a = assess(policy, "heating", text, at=SUMMER)
    assert "rule:gas" not in a.reasons
    assert not a.emergency


@pytest.mark.parametrize(
    "text",
    [
        "carbon monoxide alarm going off",
        "CO alarm beeping",
        "the co detector is going off",
        "carbon monoxide!!",
    ],
)
def test_carbon_monoxide_is_an_emergency(policy: Policy, text: str) -> None:
    a = assess(policy, "other", text, tenure=Tenure.LEASEHOLDER)
    assert a.emergency
    assert a.advice_key == "carbon_monoxide"
    assert a.advice is not None and "0800 111 999" in a.advice and "fresh air" in a.advice


def test_carbon_monoxide_advice_beats_gas_category_advice(policy: Policy) -> None:
    assert assess(policy, "gas", "CO alarm going off in the hall").advice_key == "carbon_monoxide"


@pytest.mark.parametrize(
    "text",
    ["the co alarm needs a new battery", "can you fit a carbon monoxide alarm", "no co alarm sounding"],
)
def test_carbon_monoxide_look_alikes(policy: Policy, text: str) -> None:
    assert not assess(policy, "other", text).emergency


# -- each emergency rule: a positive and a realistic look-alike -----------------------------------

EMERGENCIES = [
    ("plumbing", "flood in the kitchen", "flooding", "water"),
    ("plumbing", "water pouring through the ceiling", "flooding", "water"),
    ("plumbing", "can't turn off the water", "flooding", "water"),
    ("plumbing", "pipe has burst under the sink", "flooding", "water"),
    ("plumbing", "water coming through the light fitting", "flooding", "water"),
    ("other", "emergancy pls help water pissing through the ceiling", "flooding", "water"),
    ("electrical", "sparks coming from the socket", "dangerous_electrics", "electrical"),
    ("electrical", "exposed wires in the hallway", "dangerous_electrics", "electrical"),
    ("electrical", "burning smell from the socket", "dangerous_electrics", "electrical"),
    ("electrical", "the socket won't stop sparking", "dangerous_electrics", "electrical"),
    ("electrical", "no electric at all", "power_loss", "power_loss"),
    ("electrical", "no power", "power_loss", "power_loss"),
    ("electrical", "lecky's gone", "power_loss", "power_loss"),
    ("electrical", "no electric in the whole flat", "power_loss", "power_loss"),
    ("doors_windows", "can't lock my front door", "insecure_door", "security"),
    ("doors_windows", "door kicked in", "insecure_door", "security"),
    ("doors_windows", "front door won't lock", "insecure_door", "security"),
    ("doors_windows", "window smashed ground floor", "insecure_window", "security"),
    ("plumbing", "only toilet blocked", "only_toilet", "toilet"),
    ("plumbing", "toilet won't flush and it's our only one", "only_toilet", "toilet"),
    ("lifts", "stuck in the lift", "lift_entrapment", "lift"),
    ("lifts", "my mum is trapped in lift", "lift_entrapment", "lift"),
    ("lifts", "lift stuck between floors with people inside", "lift_entrapment", "lift"),
    ("plumbing", "sewage coming up through the bath", "sewage", "sewage"),
    ("walls_floors", "ceiling fell down", "ceiling_collapse", "ceiling"),
    ("walls_floors", "the kitchen ceiling collapsed", "ceiling_collapse", "ceiling"),
    ("walls_floors", "bedroom ceiling is bulging with water", "ceiling_collapse", "ceiling"),
]


@pytest.mark.parametrize(("category", "text", "rule", "advice"), EMERGENCIES)
def test_emergency_rules_fire(policy: Policy, category: str, text: str, rule: str, advice: str) -> None:
    a = assess(policy, category, text, tenure=Tenure.LEASEHOLDER, at=SUMMER)
    assert a.priority is Priority.EMERGENCY
    assert f"rule:{rule}" in a.reasons
    assert a.advice_key == advice
    assert a.advice == policy.advice(advice)
    assert "020 7000 0000" in a.advice or "0800 111 999" in a.advice


LOOK_ALIKES = [
    ("plumbing", "the tap drips"),
    ("plumbing", "small leak under the sink, a bowl is catching it"),
    ("plumbing", "pipe burst last night but it's not leaking anymore"),
    ("external", "the flood light in the car park is broken"),
    ("electrical", "the sparky came yesterday and fixed the light"),
    ("electrical", "light switch is loose"),
    ("electrical", "no power to the kitchen sockets"),
    ("electrical", "power went off for a second but came back on"),
    ("electrical", "my smoke alarm is beeping near the light switch"),
    ("doors_windows", "can't lock my bathroom door"),
    ("doors_windows", "front door lock is a bit stiff"),
    ("doors_windows", "cracked window on the 5th floor"),
    ("doors_windows", "bedroom window won't close properly"),
    ("plumbing", "toilet seat is broken, it's our only toilet"),
    ("plumbing", "toilet blocked, we have two toilets"),
    ("lifts", "the lift is stuck on the 4th floor again"),
    ("lifts", "lift keeps breaking down"),
    ("lifts", "my son got stuck in the lift last week"),
    ("plumbing", "bit of a sewage smell in the bathroom"),
    ("plumbing", "the sink drain smells of sewage, but it drains away fine and nothing's coming back up"),
    ("walls_floors", "crack in the ceiling"),
    ("walls_floors", "thin crack in the hallway ceiling. it's not moving or sagging, just ugly"),
    ("walls_floors", "ceiling paint is peeling and falling off"),
]


@pytest.mark.parametrize(("category", "text"), LOOK_ALIKES)
def test_look_alikes_are_not_emergencies(policy: Policy, category: str, text: str) -> None:
    a = assess(policy, category, text, at=SUMMER)
    assert not a.emergency, a.reasons
    assert a.advice is None and a.advice_key is None


def test_typing_styles_do_not_matter(policy: Policy) -> None:
    for text in ("CAN'T LOCK MY FRONT DOOR", "cant lock my front door", "can\u2019t lock my front door"):
        assert assess(policy, "doors_windows", text).emergency


def test_negation_does_not_cross_clauses(policy: Policy) -> None:
    assert assess(policy, "other", "No, I can smell gas").emergency
    assert assess(policy, "other", "there's no heating and no power").advice_key == "power_loss"


# -- heating and vulnerability ---------------------------------------------------------------------


def test_no_heating_is_an_emergency_for_vulnerable_residents_in_winter(policy: Policy) -> None:
    a = assess(policy, "heating", "no heating or hot water", vulnerable=True, at=WINTER)
    assert a.priority is Priority.EMERGENCY
    assert "rule:no_heating_vulnerable_cold" in a.reasons
    assert a.advice_key == "heating_vulnerable"


@pytest.mark.parametrize("month", [10, 11, 12, 1, 2, 3, 4])
def test_cold_months(policy: Policy, month: int) -> None:
    at = datetime(2026, month, 14, 10, tzinfo=UTC)
    assert assess(policy, "heating", "boiler's packed up", vulnerable=True, at=at).emergency


def test_no_heating_in_summer_is_urgent_even_when_vulnerable(policy: Policy) -> None:
    a = assess(policy, "heating", "no heating or hot water", vulnerable=True, at=SUMMER)
    assert a.priority is Priority.URGENT and not a.emergency


def test_no_heating_is_urgent_for_everyone_else(policy: Policy) -> None:
    a = assess(policy, "heating", "no heating or hot water", vulnerable=False, at=WINTER)
    assert a.priority is Priority.URGENT
    assert "rule:no_heating" in a.reasons
    # Filed under plumbing (routine), no hot water is still raised to urgent.
    assert assess(policy, "plumbing", "no hot water", at=SUMMER).priority is Priority.URGENT


def test_heating_noise_is_not_no_heating(policy: Policy) -> None:
    a = assess(policy, "heating", "boiler is making a banging noise", vulnerable=True)
    assert a.priority is Priority.URGENT
    assert a.reasons == ["category_default:urgent"]


@pytest.mark.parametrize("category", ["plumbing", "damp_mould"])
def test_vulnerability_raises_routine_to_urgent(policy: Policy, category: str) -> None:
    assert assess(policy, category, "it needs looking at").priority is Priority.ROUTINE
    a = assess(policy, category, "it needs looking at", vulnerable=True)
    assert a.priority is Priority.URGENT
    assert "vulnerable_raise" in a.reasons


def test_vulnerability_does_not_raise_other_categories(policy: Policy) -> None:
    a = assess(policy, "fittings", "kitchen cupboard door hanging off", vulnerable=True)
    assert a.priority is Priority.ROUTINE
    assert "vulnerable_raise" not in a.reasons


def test_category_defaults(policy: Policy) -> None:
    expected = {
        "gas": Priority.URGENT,
        "lifts": Priority.URGENT,
        "heating": Priority.URGENT,
        "fire_safety": Priority.URGENT,
        "plumbing": Priority.ROUTINE,
        "other": Priority.ROUTINE,
    }
    for code, priority in expected.items():
        a = assess(policy, code, "")
        assert a.priority is priority
        assert a.reasons[0] == f"category_default:{priority.value}"


# -- reported emergencies ---------------------------------------------------------------------------


def test_reported_emergency_raises(policy: Policy) -> None:
    a = assess(policy, "other", "please help", reported_emergency=True)
    assert a.emergency
    assert a.reasons == ["category_default:routine", "reported_emergency", "awaab:emergency_hazard"]
    assert a.advice_key == "emergency"
    assert a.advice is not None and "020 7000 0000" in a.advice
    # The category's own advice is used when it has one.
    assert assess(policy, "plumbing", "help", reported_emergency=True).advice_key == "water"


def test_reported_emergency_never_lowers_or_replaces_gas_advice(policy: Policy) -> None:
    a = assess(policy, "other", "I can smell gas", reported_emergency=True)
    assert a.advice_key == "gas"
    assert "reported_emergency" not in a.reasons
    assert not assess(policy, "other", "the tap drips", reported_emergency=False).emergency


# -- Awaab's Law flag ---------------------------------------------------------------------------------


def test_awaab_for_tenant_damp(policy: Policy) -> None:
    a = assess(policy, "damp_mould", "black mould in the bedroom", tenure=Tenure.TENANT)
    assert a.awaab and not a.emergency
    assert "awaab:damp_mould" in a.reasons


def test_no_awaab_for_leaseholders(policy: Policy) -> None:
    assert not assess(policy, "damp_mould", "black mould", tenure=Tenure.LEASEHOLDER).awaab
    assert not assess(policy, "other", "I can smell gas", tenure=Tenure.LEASEHOLDER).awaab


def test_no_awaab_when_tenure_unknown_by_default(policy: Policy) -> None:
    assert not assess(policy, "damp_mould", "black mould", tenure=None).awaab


def test_awaab_for_tenant_emergencies(policy: Policy) -> None:
    a = assess(policy, "plumbing", "water pouring through the ceiling", tenure=Tenure.TENANT)
    assert a.awaab and "awaab:emergency_hazard" in a.reasons


def test_awaab_for_mould_mentioned_in_another_category(policy: Policy) -> None:
    a = assess(policy, "plumbing", "leak under the bath, now there's mould on the wall")
    assert a.awaab and "awaab:damp_mould_text" in a.reasons
    assert not assess(policy, "plumbing", "leak under the bath, no mould yet").awaab
    assert not assess(policy, "walls_floors", "skirting board moulding is loose").awaab


def test_no_awaab_for_ordinary_repairs(policy: Policy) -> None:
    assert not assess(policy, "fittings", "kitchen drawer broken").awaab


def test_no_awaab_before_it_came_into_force(policy: Policy) -> None:
    at = datetime(2025, 10, 26, 12, tzinfo=UTC)
    assert not assess(policy, "damp_mould", "mould", at=at).awaab
    assert assess(policy, "damp_mould", "mould", at=datetime(2025, 10, 27, 9, tzinfo=UTC)).awaab


# -- arguments ------------------------------------------------------------------------------------------


def test_unknown_category_is_a_key_error(policy: Policy) -> None:
    with pytest.raises(KeyError, match="unknown repair category"):
        assess(policy, "spaceship", "broken")


def test_naive_time_is_rejected(policy: Policy) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        assess(policy, "plumbing", "leak", at=datetime(2026, 1, 1, 10))


def test_location_type_and_plain_strings_are_accepted(policy: Policy) -> None:
    a = policy.assess(
        "lifts",
        "stuck in the lift",
        vulnerable=False,
        tenure="tenant",  # type: ignore[arg-type]
        location_type=LocationType.COMMUNAL,
        at=WINTER,
    )
    assert a.emergency


def test_assessment_is_immutable(policy: Policy) -> None:
    a = assess(policy, "plumbing", "leak")
    with pytest.raises(AttributeError):
        a.priority = Priority.EMERGENCY  # type: ignore[misc]
