"""Who repairs what: the council or the resident, by tenure (configured in data/responsibility.yml).

For each tenure the rules are tried in file order (the first whose every condition holds wins), then the
category's default, then the tenure's default. Conditions: `categories`, `location_types`, and `patterns`
(any of them found in the resident's description).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from repairs.policy.schema import Outcome, ResponsibilityFile, ResponsibilityRuleConfig, TenureResponsibility
from repairs.policy.text import compile_pattern, normalise, search_any
from repairs.policy.vocabulary import LocationType, Tenure

COUNCIL = "council"
RESIDENT = "resident"


@dataclass(frozen=True)
class Responsibility:
    responsible: str  # "council" or "resident"
    reason: str
    advice: str | None


@dataclass(frozen=True)
class _Rule:
    id: str
    categories: frozenset[str] | None
    location_types: frozenset[LocationType] | None
    patterns: tuple[re.Pattern[str], ...]
    outcome: Responsibility

    @classmethod
    def from_config(cls, config: ResponsibilityRuleConfig, outcome: Responsibility) -> _Rule:
        return cls(
            id=config.id,
            categories=frozenset(config.categories) if config.categories is not None else None,
            location_types=(
                frozenset(LocationType(t) for t in config.location_types) if config.location_types is not None else None
            ),
            patterns=tuple(compile_pattern(p) for p in config.patterns),
            outcome=outcome,
        )

    def applies(self, category: str, location_type: LocationType, text: str) -> bool:
        return (
            (self.categories is None or category in self.categories)
            and (self.location_types is None or location_type in self.location_types)
            and (not self.patterns or search_any(self.patterns, text) is not None)
        )


@dataclass(frozen=True)
class _TenureRules:
    rules: tuple[_Rule, ...]
    category_defaults: dict[str, Responsibility]
    default: Responsibility


class ResponsibilityRules:
    def __init__(self, config: ResponsibilityFile, out_of_hours_phone: str) -> None:
        def outcome(o: Outcome) -> Responsibility:
            def fill(text: str) -> str:
                return text.strip().replace("{out_of_hours_phone}", out_of_hours_phone)

            return Responsibility(
                responsible=o.responsible,
                reason=fill(o.reason),
                advice=fill(o.advice) if o.advice else None,
            )

        def tenure_rules(t: TenureResponsibility) -> _TenureRules:
            return _TenureRules(
                rules=tuple(_Rule.from_config(r, outcome(r)) for r in t.rules),
                category_defaults={code: outcome(o) for code, o in t.category_defaults.items()},
                default=outcome(t.default),
            )

        self._by_tenure = {
            Tenure.TENANT: tenure_rules(config.tenant),
            Tenure.LEASEHOLDER: tenure_rules(config.leaseholder),
        }

    def decide(
        self, tenure: Tenure, category: str, location_type: LocationType, text: str = ""
    ) -> tuple[Responsibility, str]:
        """The outcome and what decided it ("rule:<id>", "category:<code>" or "default")."""
        rules = self._by_tenure[Tenure(tenure)]
        normalised = normalise(text)
        for rule in rules.rules:
            if rule.applies(category, LocationType(location_type), normalised):
                return rule.outcome, f"rule:{rule.id}"
        if category in rules.category_defaults:
            return rules.category_defaults[category], f"category:{category}"
        return rules.default, "default"
