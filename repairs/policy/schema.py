"""The shape of the policy YAML files, validated with pydantic so a mistake gives a clear message.

Unknown keys are errors (a misspelt key would otherwise be silently ignored), regular expressions are
compiled at load time, and references between files (a rule naming a category or an advice text) are
checked by `repairs.policy.loader`.
"""

from __future__ import annotations

import re
import string
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from repairs_common import gas

from repairs.residents.models import Tenure
from repairs.tickets.models import LocationType, Priority

CODE_PATTERN = r"^[a-z][a-z0-9_]*$"
PLACEHOLDERS = frozenset({"out_of_hours_phone"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regexes(patterns: list[str]) -> list[str]:
    for i, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern {i + 1} {pattern!r} is not a valid regular expression: {exc}") from exc
    return patterns


def _check_placeholders(text: str) -> str:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValueError(f"badly formed placeholder ({exc}); write {{out_of_hours_phone}}") from exc
    unknown = fields - PLACEHOLDERS
    if unknown:
        raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; the only one allowed is {{out_of_hours_phone}}")
    return text


# -- categories.yml -------------------------------------------------------------------------------


class CategoryConfig(_Model):
    code: str = Field(pattern=CODE_PATTERN, max_length=30)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    trade: str = Field(pattern=CODE_PATTERN, max_length=40)
    default_priority: Priority
    communal: bool = False
    # The advice key used when this category is an emergency and no emergency rule chose one.
    emergency_advice: str | None = None


class CategoriesFile(_Model):
    categories: list[CategoryConfig] = Field(min_length=1)

    @field_validator("categories")
    @classmethod
    def _unique_codes(cls, value: list[CategoryConfig]) -> list[CategoryConfig]:
        seen: set[str] = set()
        for category in value:
            if category.code in seen:
                raise ValueError(f"category code {category.code!r} appears more than once")
            seen.add(category.code)
        return value


# -- policy.yml -----------------------------------------------------------------------------------


class WorkingDaysConfig(_Model):
    timezone: str = "Europe/London"
    bank_holiday_region: Literal["ENG", "WLS", "SCT", "NIR"] = "ENG"
    extra_closures: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London)") from exc
        return value


class Timescale(_Model):
    """Either clock `hours` or `working_days`; emergencies may also set `make_safe_hours`."""

    hours: int | None = Field(default=None, gt=0)
    working_days: int | None = Field(default=None, ge=0)
    make_safe_hours: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_unit(self) -> Timescale:
        if (self.hours is None) == (self.working_days is None):
            raise ValueError("give exactly one of 'hours' or 'working_days'")
        return self


class Timescales(_Model):
    emergency: Timescale
    urgent: Timescale
    routine: Timescale

    def for_priority(self, priority: Priority) -> Timescale:
        timescale: Timescale = getattr(self, Priority(priority).value)
        return timescale


class AwaabEmergency(_Model):
    investigate_hours: int = Field(default=24, gt=0)  # investigate and make safe


class AwaabDamp(_Model):
    categories: list[str] = Field(default_factory=lambda: ["damp_mould"])
    # Words in the description that make a report in another category a damp and mould one.
    text_patterns: list[str] = Field(default_factory=list)
    investigate_working_days: int = Field(default=10, ge=0)
    written_summary_working_days: int = Field(default=3, ge=0)
    safety_work_working_days: int = Field(default=5, ge=0)
    further_works_weeks: int = Field(default=12, gt=0)

    @field_validator("text_patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)


class AwaabConfig(_Model):
    enabled: bool = True
    in_force_from: date | None = date(2025, 10, 27)
    tenures: list[Tenure] = Field(default_factory=lambda: [Tenure.TENANT])
    apply_when_tenure_unknown: bool = False
    emergency: AwaabEmergency = Field(default_factory=AwaabEmergency)
    damp_mould: AwaabDamp = Field(default_factory=AwaabDamp)


class VulnerabilityConfig(_Model):
    raise_to_urgent: list[str] = Field(default_factory=list)
    # Words in a message that say someone vulnerable is affected (for text with no known resident,
    # such as triage of an e-mail, and for what a resident says in the chat).
    text_patterns: list[str] = Field(default_factory=list)


class ComplaintStage(_Model):
    acknowledge_working_days: int = Field(ge=0)
    respond_working_days: int = Field(ge=0)  # counted from the acknowledgement deadline


class ComplaintsConfig(_Model):
    stage_1: ComplaintStage
    stage_2: ComplaintStage


class TextMatchingConfig(_Model):
    negation_words: list[str] = Field(default_factory=list)
    negation_window: int = Field(default=3, ge=0)
    resolved_patterns: list[str] = Field(default_factory=list)

    @field_validator("resolved_patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)


# What a rule with a `detector` may not also say: the shared detector reads the words itself.
_READ_BY_DETECTOR = ("patterns", "also_match", "exclude", "negation", "resolved_check")


class EmergencyRuleConfig(_Model):
    id: str = Field(pattern=CODE_PATTERN)
    description: str | None = None
    priority: Priority = Priority.EMERGENCY
    categories: list[str] | None = None
    # A hazard the assistant's actions detect too (repairs_common.gas), named instead of given patterns,
    # so the chat's safety advice and the ticket's priority come from the same rule.
    detector: str | None = None
    patterns: list[str] = Field(default_factory=list)
    also_match: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    requires_vulnerable: bool = False
    months: list[int] | None = None
    location_types: list[LocationType] | None = None
    negation: bool = True
    resolved_check: bool = True
    advice: str | None = None

    @field_validator("patterns", "also_match", "exclude")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)

    @field_validator("months")
    @classmethod
    def _months(cls, value: list[int] | None) -> list[int] | None:
        if value is not None:
            bad = [m for m in value if not 1 <= m <= 12]
            if bad or not value:
                raise ValueError(f"months must be a non-empty list of numbers 1 to 12, got {value}")
        return value

    @field_validator("detector")
    @classmethod
    def _detector(cls, value: str | None) -> str | None:
        if value is not None and value not in gas.HAZARDS:
            raise ValueError(f"unknown detector {value!r}; the shared detectors are {', '.join(gas.HAZARDS)}")
        return value

    @model_validator(mode="after")
    def _patterns_or_detector(self) -> EmergencyRuleConfig:
        if self.detector is None:
            if not self.patterns:
                raise ValueError(f"rule {self.id!r} needs 'patterns' (at least one) or a 'detector'")
        else:
            given = [key for key in _READ_BY_DETECTOR if key in self.model_fields_set]
            if given:
                raise ValueError(
                    f"rule {self.id!r} uses the {self.detector!r} detector, which reads the words itself: "
                    f"remove {', '.join(given)}"
                )
        return self


class PolicyFile(_Model):
    version: Literal[1] = 1
    working_days: WorkingDaysConfig = Field(default_factory=WorkingDaysConfig)
    timescales: Timescales
    awaab: AwaabConfig = Field(default_factory=AwaabConfig)
    vulnerability: VulnerabilityConfig = Field(default_factory=VulnerabilityConfig)
    complaints: ComplaintsConfig
    text_matching: TextMatchingConfig = Field(default_factory=TextMatchingConfig)
    emergency_rules: list[EmergencyRuleConfig] = Field(default_factory=list)
    advice: dict[str, str]

    @field_validator("advice")
    @classmethod
    def _advice(cls, value: dict[str, str]) -> dict[str, str]:
        if "emergency" not in value:
            raise ValueError("an 'emergency' advice text is required (the fallback for every emergency)")
        for key, text in value.items():
            if not re.match(CODE_PATTERN, key):
                raise ValueError(f"advice key {key!r} must be lower_case_with_underscores")
            if not text.strip():
                raise ValueError(f"advice {key!r} is empty")
            try:
                _check_placeholders(text)
            except ValueError as exc:
                raise ValueError(f"advice {key!r}: {exc}") from exc
        return value

    @field_validator("emergency_rules")
    @classmethod
    def _unique_rules(cls, value: list[EmergencyRuleConfig]) -> list[EmergencyRuleConfig]:
        ids = [rule.id for rule in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"emergency rule ids must be unique, repeated: {dupes}")
        return value

    @model_validator(mode="after")
    def _timescales(self) -> PolicyFile:
        if self.timescales.emergency.make_safe_hours is None and self.timescales.emergency.hours is None:
            raise ValueError("timescales.emergency needs 'hours' or 'make_safe_hours'")
        return self


# -- responsibility.yml ---------------------------------------------------------------------------

Responsible = Literal["council", "resident"]


class Outcome(_Model):
    responsible: Responsible
    reason: str = Field(min_length=1)
    advice: str | None = None

    @field_validator("reason", "advice")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        return None if value is None else _check_placeholders(value)


class ResponsibilityRuleConfig(Outcome):
    id: str = Field(pattern=CODE_PATTERN)
    categories: list[str] | None = None
    location_types: list[LocationType] | None = None
    patterns: list[str] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return _check_regexes(value)

    @model_validator(mode="after")
    def _has_condition(self) -> ResponsibilityRuleConfig:
        if self.categories is None and self.location_types is None and not self.patterns:
            raise ValueError(f"rule {self.id!r} needs at least one of categories, location_types, patterns")
        return self


class TenureResponsibility(_Model):
    rules: list[ResponsibilityRuleConfig] = Field(default_factory=list)
    category_defaults: dict[str, Outcome] = Field(default_factory=dict)
    default: Outcome


class ResponsibilityFile(_Model):
    tenant: TenureResponsibility
    leaseholder: TenureResponsibility
