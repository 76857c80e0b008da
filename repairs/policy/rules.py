"""Emergency rules: phrases in a resident's description that raise a repair's priority.

Each rule (data/policy.yml, `emergency_rules`) fires when one of its `patterns` matches the normalised text
and is not negated, every condition holds (category, vulnerability, month, location) and, when given, one of
its `also_match` patterns matches anywhere in the text. A rule with a `detector` instead fires when the
detector the assistant shares (repairs_common.gas) finds that hazard, so the chat's safety advice and the
ticket's priority cannot disagree. Rules are checked in file order; the first emergency rule that fires
chooses the safety advice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from repairs_common.gas import gas_hazards

from repairs.policy.schema import EmergencyRuleConfig
from repairs.policy.text import NegationGuard, compile_pattern, find_guarded, search_any
from repairs.policy.vocabulary import LocationType, Priority


@dataclass(frozen=True)
class EmergencyRule:
    id: str
    priority: Priority
    patterns: tuple[re.Pattern[str], ...]
    also_match: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    categories: frozenset[str] | None = None
    requires_vulnerable: bool = False
    months: frozenset[int] | None = None
    location_types: frozenset[LocationType] | None = None
    negation: bool = True
    resolved_check: bool = True
    advice: str | None = None
    detector: str | None = None  # a hazard of repairs_common.gas, instead of patterns

    @classmethod
    def from_config(cls, config: EmergencyRuleConfig) -> EmergencyRule:
        return cls(
            id=config.id,
            priority=Priority(config.priority),
            patterns=tuple(compile_pattern(p) for p in config.patterns),
            also_match=tuple(compile_pattern(p) for p in config.also_match),
            exclude=tuple(compile_pattern(p) for p in config.exclude),
            categories=frozenset(config.categories) if config.categories is not None else None,
            requires_vulnerable=config.requires_vulnerable,
            months=frozenset(config.months) if config.months is not None else None,
            location_types=(
                frozenset(LocationType(t) for t in config.location_types) if config.location_types is not None else None
            ),
            negation=config.negation,
            resolved_check=config.resolved_check,
            advice=config.advice,
            detector=config.detector,
        )

    def conditions_hold(self, *, category: str, vulnerable: bool, month: int, location_type: LocationType) -> bool:
        return (
            (self.categories is None or category in self.categories)
            and (vulnerable or not self.requires_vulnerable)
            and (self.months is None or month in self.months)
            and (self.location_types is None or location_type in self.location_types)
        )

    def matches(self, text: str, guard: NegationGuard) -> bool:
        """`text` must already be normalised (see `repairs.policy.text.normalise`)."""
        if self.detector is not None:
            return self.detector in gas_hazards(text)
        found = find_guarded(
            self.patterns,
            text,
            guard=guard if self.negation else None,
            exclude=self.exclude,
            check_resolved=self.resolved_check,
        )
        if found is None:
            return False
        return not self.also_match or search_any(self.also_match, text) is not None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[EmergencyRule, ...]
    guard: NegationGuard

    def matching(
        self, text: str, *, category: str, vulnerable: bool, month: int, location_type: LocationType
    ) -> list[EmergencyRule]:
        """The rules that fire for this report, in file order. `text` must already be normalised."""
        return [
            rule
            for rule in self.rules
            if rule.conditions_hold(category=category, vulnerable=vulnerable, month=month, location_type=location_type)
            and rule.matches(text, self.guard)
        ]

    def detected(
        self, text: str, *, category: str, vulnerable: bool, month: int, location_type: LocationType
    ) -> list[EmergencyRule]:
        """Only the rules decided by a shared detector (gas, carbon monoxide): they hold whatever else the
        report's facts say. `text` must already be normalised."""
        return [
            rule
            for rule in self.rules
            if rule.detector is not None
            and rule.conditions_hold(category=category, vulnerable=vulnerable, month=month, location_type=location_type)
            and rule.matches(text, self.guard)
        ]
