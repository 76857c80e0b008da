"""Facts in plain words, for officers: why a ticket has its priority ("a water leak, not contained, in the
home"). Every code and qualifier value of repairs_common.facts has its words here; a test holds it to that."""

from __future__ import annotations

from repairs_common.facts import QUALIFIERS, Facts

CODE_WORDS = {
    "gas_leak": "a gas leak",
    "carbon_monoxide": "carbon monoxide",
    "gas_appliance": "a gas appliance fault",
    "water_leak": "a water leak",
    "water_ingress": "water coming in from outside",
    "sewage": "sewage coming in",
    "electrical_danger": "dangerous electrics",
    "ceiling_collapse": "a ceiling down or sagging",
    "structural": "part of the building unsafe",
    "fall_from_height": "a fall hazard at a window or balcony",
    "insecure_entry": "a door or window to the outside that may not secure",
    "trapped_in_lift": "someone trapped in a lift",
    "fire": "a fire",
    "damp_mould": "damp or mould",
    "pests": "pests",
    "water_supply": "the water supply",
    "heating": "the heating",
    "hot_water": "the hot water",
    "power": "the electricity",
    "toilet": "a toilet",
    "lift": "a lift out of order",
}

# qualifier -> {value: words}
QUALIFIER_WORDS: dict[str, dict[bool | str, str]] = {
    "contained": {True: "under control", False: "not contained"},
    "secure": {True: "secured since", False: "cannot be locked or shut"},
    "extent": {"total": "lost completely", "partial": "lost in part"},
    "only_toilet": {True: "the only toilet", False: "another toilet works"},
    "at_risk": {True: "someone at risk at home", False: "nobody at risk at home"},
    "cold": {True: "freezing cold", False: "not cold"},
    "trapped": {True: "someone trapped now", False: "nobody trapped now"},
    "cannot_use_stairs": {True: "someone cannot use the stairs", False: "the stairs can be used"},
    "floor": {"ground": "on the ground floor", "upper": "above the ground floor"},
    "fixture": {"window": "a window", "door": "a door", "railing": "a railing or banister"},
    "location": {"in_home": "in the home", "communal": "in a shared part of the block", "external": "outside"},
    "current": {True: "happening now", False: "over now"},
}


def describe_facts(facts: Facts) -> str:
    """What is affected, then each qualifier that is known (how much, then who and where); `current` only
    when the danger is said to be over."""
    parts = [CODE_WORDS.get(code, code.replace("_", " ")) for code, _ in facts.affected]
    if not parts:
        parts.append("nothing that needs an emergency")
    for name in (*QUALIFIER_WORDS, *(q for q in QUALIFIERS if q not in QUALIFIER_WORDS)):
        value = facts.get(name)
        if value is None or (name == "current" and value is True):
            continue
        parts.append(QUALIFIER_WORDS.get(name, {}).get(value, f"{name.replace('_', ' ')}: {value}"))
    return ", ".join(parts)
