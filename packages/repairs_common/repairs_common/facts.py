"""The facts a repairs call handler decides priority on: the vocabulary both sides share.

The assistant (Rasa, Python 3.10) extracts these from what a resident writes and sends them with its parse;
the repairs service (Python 3.11) decides priority from them with the rules in data/policy.yml and records on
each ticket which facts and which rule gave it. Keeping the vocabulary here means a fact cannot be spelt one way
by the extractor and another by the policy. The written definition of every code and qualifier, as labellers
use it, is evaluation/FACTS.md; this module is its machine form.

A fact is what the message says or clearly implies. A qualifier the message does not state is `None`
(unknown), which matters: when an unknown fact would change the priority, the assistant asks about it.

The wire form (`to_json` / `from_json`) is a plain dict, so it travels in Rasa's parse result, the triage API and
a ticket's record without any class on the other side:

    {"affected": [{"code": "water_leak", "p": 0.93}],
     "contained": {"value": False, "p": 0.88}, "at_risk": {"value": None, "p": 0.0}, ...}

`p` is the extractor's confidence in that value (1.0 for a value a person gave, e.g. by answering a question).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# What is affected. Hazards: the danger itself is described.
GAS_LEAK = "gas_leak"
CARBON_MONOXIDE = "carbon_monoxide"
GAS_APPLIANCE = "gas_appliance"
WATER_LEAK = "water_leak"
WATER_INGRESS = "water_ingress"
SEWAGE = "sewage"
ELECTRICAL_DANGER = "electrical_danger"
CEILING_COLLAPSE = "ceiling_collapse"
STRUCTURAL = "structural"
FALL_FROM_HEIGHT = "fall_from_height"
INSECURE_ENTRY = "insecure_entry"
TRAPPED_IN_LIFT = "trapped_in_lift"
FIRE = "fire"
DAMP_MOULD = "damp_mould"
PESTS = "pests"
HAZARDS: tuple[str, ...] = (
    GAS_LEAK, CARBON_MONOXIDE, GAS_APPLIANCE, WATER_LEAK, WATER_INGRESS, SEWAGE, ELECTRICAL_DANGER,
    CEILING_COLLAPSE, STRUCTURAL, FALL_FROM_HEIGHT, INSECURE_ENTRY, TRAPPED_IN_LIFT, FIRE, DAMP_MOULD, PESTS,
)

# Services lost or failing.
WATER_SUPPLY = "water_supply"
HEATING = "heating"
HOT_WATER = "hot_water"
POWER = "power"
TOILET = "toilet"
LIFT = "lift"
SERVICES: tuple[str, ...] = (WATER_SUPPLY, HEATING, HOT_WATER, POWER, TOILET, LIFT)

AFFECTED_CODES: frozenset[str] = frozenset(HAZARDS + SERVICES)

# Qualifiers and the values each may take (besides None, "not said").
EXTENT_VALUES = ("total", "partial")
FLOOR_VALUES = ("ground", "upper")
# What gives way, for a fall or an insecure home: a window (its restrictor, catch or lock), a door (its lock or
# frame), or a railing guarding a drop (a balcony railing or balustrade, a stair banister). A balcony railing is a
# fall hazard whoever lives there; a window restrictor is one where a child or a vulnerable person does; a door
# that will not lock is an insecure home on any floor, a window only on the ground floor.
FIXTURE_VALUES = ("window", "door", "railing")
LOCATION_VALUES = ("in_home", "communal", "external")
BOOLEAN_QUALIFIERS: tuple[str, ...] = (
    "contained", "secure", "only_toilet", "at_risk", "cold", "trapped", "cannot_use_stairs", "current",
)
CHOICE_QUALIFIERS: dict[str, tuple[str, ...]] = {
    "extent": EXTENT_VALUES,
    "floor": FLOOR_VALUES,
    "location": LOCATION_VALUES,
    "fixture": FIXTURE_VALUES,
}
QUALIFIERS: tuple[str, ...] = BOOLEAN_QUALIFIERS + tuple(CHOICE_QUALIFIERS)


class FactsError(ValueError):
    """A facts document that does not fit the vocabulary (an unknown code, qualifier or value)."""


@dataclass(frozen=True)
class Qualifier:
    """One qualifier's value (None when the message does not say) and the confidence in it."""

    value: bool | str | None = None
    p: float = 0.0


@dataclass(frozen=True)
class Facts:
    """What a message says about a repair: affected codes with confidences, and qualifiers.

    `current` defaults to True when not said: a resident reporting something means it is happening, unless
    the message says it is over."""

    affected: tuple[tuple[str, float], ...] = ()
    qualifiers: Mapping[str, Qualifier] = field(default_factory=dict)

    def codes(self, threshold: float = 0.5) -> frozenset[str]:
        """The affected codes held with at least `threshold` confidence."""
        return frozenset(code for code, p in self.affected if p >= threshold)

    def get(self, name: str) -> bool | str | None:
        """A qualifier's value; None when not said (except `current`, which is True unless said otherwise)."""
        if name not in QUALIFIERS:
            raise FactsError(f"unknown qualifier {name!r}")
        value = self.qualifiers.get(name, Qualifier()).value
        if name == "current" and value is None:
            return True
        return value

    def with_answer(self, name: str, value: bool | str | None) -> Facts:
        """These facts with one qualifier set by the resident (an answer to a question): confidence 1."""
        _check_qualifier(name, value)
        merged = dict(self.qualifiers)
        merged[name] = Qualifier(value, 1.0)
        return replace(self, qualifiers=merged)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"affected": [{"code": code, "p": round(p, 3)} for code, p in self.affected]}
        for name in QUALIFIERS:
            q = self.qualifiers.get(name)
            if q is not None and q.value is not None:
                out[name] = {"value": q.value, "p": round(q.p, 3)}
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | None) -> Facts:
        """Read the wire form; raises FactsError on anything outside the vocabulary."""
        if not doc:
            return cls()
        if not isinstance(doc, Mapping):
            raise FactsError("facts must be an object")
        affected: list[tuple[str, float]] = []
        for item in doc.get("affected") or []:
            if not isinstance(item, Mapping) or item.get("code") not in AFFECTED_CODES:
                raise FactsError(f"unknown affected code in {item!r}")
            affected.append((str(item["code"]), _probability(item.get("p", 1.0))))
        qualifiers: dict[str, Qualifier] = {}
        for name, raw in doc.items():
            if name == "affected":
                continue
            if name not in QUALIFIERS:
                raise FactsError(f"unknown qualifier {name!r}")
            if not isinstance(raw, Mapping):
                raise FactsError(f"qualifier {name!r} must be an object with value and p")
            value = raw.get("value")
            _check_qualifier(name, value)
            qualifiers[name] = Qualifier(value, _probability(raw.get("p", 1.0)))
        return cls(tuple(affected), qualifiers)

    @classmethod
    def from_labels(cls, labels: Mapping[str, Any]) -> Facts:
        """Facts as a labeller writes them (evaluation/FACTS.md: `affected: [codes]`, qualifiers as plain
        values), each held with confidence 1."""
        affected = tuple((str(code), 1.0) for code in labels.get("affected") or [])
        for code, _ in affected:
            if code not in AFFECTED_CODES:
                raise FactsError(f"unknown affected code {code!r}")
        qualifiers: dict[str, Qualifier] = {}
        for name, value in labels.items():
            if name == "affected":
                continue
            _check_qualifier(name, value)
            if value is not None:
                qualifiers[name] = Qualifier(value, 1.0)
        return cls(affected, qualifiers)


def _check_qualifier(name: str, value: object) -> None:
    if name in BOOLEAN_QUALIFIERS:
        if value is not None and not isinstance(value, bool):
            raise FactsError(f"qualifier {name!r} takes true, false or null, not {value!r}")
    elif name in CHOICE_QUALIFIERS:
        if value is not None and value not in CHOICE_QUALIFIERS[name]:
            raise FactsError(f"qualifier {name!r} takes one of {CHOICE_QUALIFIERS[name]} or null, not {value!r}")
    else:
        raise FactsError(f"unknown qualifier {name!r}")


def _probability(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0.0 <= float(raw) <= 1.0:
        raise FactsError(f"a confidence is a number from 0 to 1, not {raw!r}")
    return float(raw)
