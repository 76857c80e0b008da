"""The reference emergency rules over facts: evaluation/FACTS.md's "How the facts decide emergencies", as code.

This is the labels' own definition, used to score an extractor by the emergencies its facts imply. It is not
the product's rule set: the repairs service decides priority from data/policy.yml. `fixture` tells a railing
(an emergency above the ground floor whoever lives there) from a window restrictor (only where someone is at
risk), and a door that will not lock (an insecure home on any floor) from a window (only on the ground floor).
"""

from __future__ import annotations

from repairs_common.facts import Facts

ALWAYS = frozenset({"gas_leak", "carbon_monoxide", "sewage", "electrical_danger", "ceiling_collapse", "structural"})


def emergency_rules(facts: Facts, threshold: float = 0.5) -> list[str]:
    """The FACTS.md rules these facts meet (empty: not an emergency), named "code" or "code:qualifier"."""
    if facts.get("current") is False:
        return []
    codes = facts.codes(threshold)
    met = sorted(codes & ALWAYS)
    contained, extent = facts.get("contained"), facts.get("extent")
    if "gas_appliance" in codes and contained is False:
        met.append("gas_appliance:uncontained")
    if "water_leak" in codes and contained is False and facts.get("location") != "external":
        met.append("water_leak:uncontained")
    if "water_ingress" in codes and contained is not True:
        met.append("water_ingress:coming_in")
    if "water_supply" in codes and extent == "total":
        met.append("water_supply:total")
    if "toilet" in codes and facts.get("only_toilet") is True:
        met.append("toilet:only")
    if "power" in codes and extent == "total":
        met.append("power:total")
    vulnerable = facts.get("at_risk") is True or facts.get("cold") is True
    for service in ("heating", "hot_water"):
        if service in codes and extent != "partial" and vulnerable:
            met.append(f"{service}:at_risk_or_cold")
    fixture, floor = facts.get("fixture"), facts.get("floor")
    if "insecure_entry" in codes and facts.get("secure") is False and (fixture != "window" or floor == "ground"):
        met.append("insecure_entry:unsecured")
    if "trapped_in_lift" in codes and facts.get("trapped") is not False:
        met.append("trapped_in_lift")
    elif "lift" in codes and facts.get("trapped") is True:
        met.append("lift:trapped")
    if "lift" in codes and extent == "total" and facts.get("cannot_use_stairs") is True:
        met.append("lift:total_cannot_use_stairs")
    if "fall_from_height" in codes and floor == "upper" and fixture == "railing":
        met.append("fall_from_height:upper_railing")
    elif "fall_from_height" in codes and floor == "upper" and facts.get("at_risk") is True:
        met.append("fall_from_height:upper_at_risk")
    return met


def is_emergency(facts: Facts, threshold: float = 0.5) -> bool:
    return bool(emergency_rules(facts, threshold))
