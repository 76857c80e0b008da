"""The policy facade: priority and safety advice for a report, its deadlines, and who is responsible.

Build one with `repairs.policy.loader.load_policy(data_dir)`; it holds no database and no clock, so every
method is a pure function of the configuration and its arguments. Datetimes in and out are aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from repairs_common import gas
from repairs_common.facts import Facts, Qualifier

from repairs.policy.calendar import WorkingCalendar, require_aware
from repairs.policy.fact_rules import FactDecision, FactRuleSet, Question
from repairs.policy.hazards import DAMP_MOULD, HazardMap
from repairs.policy.responsibility import Responsibility, ResponsibilityRules
from repairs.policy.rules import RuleSet
from repairs.policy.schema import ComplaintStage, PolicyFile
from repairs.policy.taxonomy import Category
from repairs.policy.text import compile_pattern, find_guarded, normalise
from repairs.policy.vocabulary import HHSRS_NAMES, LocationType, Priority, Tenure
from repairs.policy.wording import describe_deadline

__all__ = ["Assessment", "Category", "Deadlines", "Policy", "Question", "Responsibility", "WorkingCalendar"]

# Which path decided a priority: the fact rules (the assistant sent facts), the phrase rules (it did not:
# Rasa was not reachable, or an older model), or the shared gas and carbon monoxide detector, which wins
# over both.
DecisionPath = Literal["facts", "phrases", "detector"]

# Lower is more pressing.
_RANK = {Priority.EMERGENCY: 0, Priority.URGENT: 1, Priority.ROUTINE: 2}
GENERIC_ADVICE = "emergency"


def _more_pressing(a: Priority, b: Priority) -> bool:
    return _RANK[a] < _RANK[b]


@dataclass(frozen=True)
class Assessment:
    priority: Priority
    emergency: bool
    reasons: list[str]  # e.g. ["category_default:routine", "rule:flooding", "vulnerable_raise"]
    advice: str | None  # safety text for emergencies, placeholders filled in; else None
    advice_key: str | None
    awaab: bool  # Awaab's Law clocks apply (a tenant's emergency hazard, or significant hazard in force)
    path: DecisionPath = "phrases"
    rule: str | None = None  # the rule that gave the priority; None when the category's default did
    facts: Facts | None = None  # the facts decided on (with what the resident's record adds), when given
    question: Question | None = None  # what to ask when an unknown fact would change the priority
    hazard: str | None = None  # the HHSRS hazard (repairs.policy.vocabulary.HHSRS_HAZARDS), None for none
    hazard_group: str | None = None  # its group in the phases (policy.yml awaab.hazard_groups)


@dataclass(frozen=True)
class AwaabStatus:
    applies: bool
    reason: str | None  # for Assessment.reasons, e.g. "awaab:emergency_hazard", "awaab:falls"
    hazard: str | None
    group: str | None


@dataclass(frozen=True)
class Deadlines:
    due_at: datetime
    make_safe_by: datetime | None
    awaab_investigate_by: datetime | None
    awaab_safety_work_by: datetime | None  # None until investigated: see Policy.awaab_after_investigation


class Policy:
    def __init__(
        self,
        *,
        config: PolicyFile,
        categories: dict[str, Category],
        category_advice: dict[str, str],
        calendar: WorkingCalendar,
        rules: RuleSet,
        fact_rules: FactRuleSet,
        responsibility_rules: ResponsibilityRules,
        out_of_hours_phone: str,
    ) -> None:
        self.config = config
        self.categories = categories
        self.calendar = calendar
        self.out_of_hours_phone = out_of_hours_phone
        self._category_advice = category_advice
        self._rules = rules
        self._fact_rules = fact_rules
        self._responsibility = responsibility_rules
        self._hazards = HazardMap(config.awaab)
        self._damp_patterns = tuple(compile_pattern(p) for p in config.awaab.damp_mould.text_patterns)
        self._vulnerability_patterns = tuple(compile_pattern(p) for p in config.vulnerability.text_patterns)

    def __repr__(self) -> str:
        return f"Policy(categories={list(self.categories)!r}, calendar={self.calendar!r})"

    # -- categories and advice ------------------------------------------------------------------

    def mentions_vulnerability(self, text: str) -> bool:
        """Does the message say someone vulnerable is affected (a baby, an elderly or disabled person)?"""
        normalised = normalise(text or "")
        return any(p.search(normalised) for p in self._vulnerability_patterns)

    def vulnerable_in_words(self, text: str, facts: Facts | None) -> bool:
        """Do the words say someone vulnerable is affected, where no resident's record is at hand (triage, the
        assistant's assessment)? Not when the facts read in the same words, or the resident's answer, say
        nobody at home is at risk: "nobody here is vulnerable" names the word only to deny it."""
        if facts is not None and self._fact_rules.known(facts)["at_risk"] is False:
            return False
        return self.mentions_vulnerability(text)

    def category(self, code: str) -> Category:
        try:
            return self.categories[code]
        except KeyError:
            raise KeyError(f"unknown repair category {code!r}; known: {', '.join(self.categories)}") from None

    def advice(self, key: str) -> str:
        try:
            text = self.config.advice[key]
        except KeyError:
            raise KeyError(f"no advice text {key!r}; known: {', '.join(self.config.advice)}") from None
        return text.strip().replace("{out_of_hours_phone}", self.out_of_hours_phone)

    # -- assessment -------------------------------------------------------------------------------

    def assess(
        self,
        category: str,
        text: str,
        *,
        vulnerable: bool,
        tenure: Tenure | None,
        location_type: LocationType = LocationType.IN_HOME,
        at: datetime,
        reported_emergency: bool = False,
        learned_emergency: str | None = None,
        facts: Facts | None = None,
    ) -> Assessment:
        """The priority, safety advice and Awaab's Law status of a report.

        With `facts` (what the assistant read in the message, plus any answers), the fact rules decide, and
        the assessment names the question to ask when an unknown fact would change the priority. Without
        them, or when they name nothing affected, the phrase rules decide, as before facts existed. Either way
        the shared gas and carbon monoxide detector wins, and `reported_emergency` can raise the priority,
        never lower it.

        `learned_emergency` is the assistant's language model's judgement that the words describe an
        emergency, named by its kind of safety advice ("water", "security", ...). On the phrase path, like
        `reported_emergency`, it can raise the priority to an emergency, never lower it; the phrase rules
        still choose the advice when they fire too. Facts supersede it: they say the same with reasons.
        """
        cat = self.category(category)
        at_utc = require_aware(at, "at")
        location_type = LocationType(location_type)
        tenure = Tenure(tenure) if tenure is not None else None
        normalised = normalise(text or "")
        month = at_utc.astimezone(self.calendar.tz).month

        priority = cat.default_priority
        reasons = [f"category_default:{priority.value}"]
        advice_key: str | None = None
        rule_name: str | None = None
        path: DecisionPath = "phrases"
        used: Facts | None = None
        decision: FactDecision | None = None

        # Facts that name nothing affected (with confidence) say nothing to decide on: the phrase rules and the
        # learned signal still read the words then, so a report the extractor could not place is not lost.
        from_facts = facts is not None and bool(self._fact_rules.codes(facts))
        if facts is not None:
            used = _with_vulnerability(facts, vulnerable)
        if not from_facts:
            for rule in self._rules.matching(
                normalised, category=cat.code, vulnerable=vulnerable, month=month, location_type=location_type
            ):
                reasons.append(f"rule:{rule.id}")
                if _more_pressing(rule.priority, priority):
                    priority = rule.priority
                    rule_name = rule.id
                if rule.priority is Priority.EMERGENCY and advice_key is None:
                    advice_key = rule.advice
        else:
            assert used is not None
            path = "facts"
            detected = self._rules.detected(
                normalised, category=cat.code, vulnerable=vulnerable, month=month, location_type=location_type
            )
            if detected and self._fact_rules.known(used)["current"] is False and gas.gas_made_safe(text or ""):
                # A gas leak an engineer has capped or made safe is over (evaluation/FACTS.md, `current`): the
                # detector, which reads each sentence alone, gave the advice first; the facts give the priority.
                detected = [rule for rule in detected if rule.detector != gas.GAS]
                reasons.append("gas_made_safe")
            if detected:
                first = detected[0]
                path, priority, rule_name, advice_key = "detector", first.priority, first.id, first.advice
                reasons.append(f"rule:{first.id}")
            else:
                decision = self._fact_rules.decide(used)
                if decision.rule is not None and decision.priority is not None:
                    priority, rule_name = decision.priority, decision.rule.id
                    reasons.append(f"fact_rule:{decision.rule.id}")
                    if decision.assumed:
                        reasons.append("fact_unknown:" + ",".join(decision.assumed))
                    if priority is Priority.EMERGENCY:
                        advice_key = decision.rule.advice

        if vulnerable and priority is Priority.ROUTINE and cat.code in self.config.vulnerability.raise_to_urgent:
            priority = Priority.URGENT
            reasons.append("vulnerable_raise")

        # The learned signal speaks only for a model without a fact extractor: when the extractor read the words
        # and held nothing affected, the signal alone raised drains, intercoms and chirping alarms to emergencies
        # (the phrase rules above still read such words).
        if (facts is None and learned_emergency and priority is not Priority.EMERGENCY
                and learned_emergency in self.config.advice and not self._rules.guard.says_resolved(normalised)):
            priority = Priority.EMERGENCY
            reasons.append(f"model:{learned_emergency}")
            advice_key = advice_key or learned_emergency

        if reported_emergency and priority is not Priority.EMERGENCY:
            priority = Priority.EMERGENCY
            reasons.append("reported_emergency")

        emergency = priority is Priority.EMERGENCY
        # Safety advice only for emergencies: a matching rule's, else the category's, else the generic one.
        advice_key = (advice_key or self._category_advice.get(cat.code) or GENERIC_ADVICE) if emergency else None

        codes = self._fact_rules.codes(used) if used is not None else frozenset()
        known = self._fact_rules.known(used) if used is not None else {}
        status = self._awaab(cat.code, normalised, tenure, priority, at_utc, codes, known)
        if status.reason:
            reasons.append(status.reason)

        question = None
        if used is not None and decision is not None:
            question = self._fact_rules.question(used, decision, priority)

        return Assessment(
            priority=priority,
            emergency=emergency,
            reasons=reasons,
            advice=self.advice(advice_key) if advice_key else None,
            advice_key=advice_key,
            awaab=status.applies,
            path=path,
            rule=rule_name,
            facts=used,
            question=question,
            hazard=status.hazard,
            hazard_group=status.group,
        )

    def _awaab(
        self,
        category: str,
        text: str,
        tenure: Tenure | None,
        priority: Priority,
        at: datetime,
        codes: frozenset[str],
        known: Mapping[str, bool | str | None],
    ) -> AwaabStatus:
        """The report's hazard and whether its Awaab's Law clocks apply. The hazard is recorded whether or not
        they do (a leaseholder's, or a group not yet in force): the reports count it either way."""
        cfg = self.config.awaab
        damp_words = find_guarded(self._damp_patterns, text, guard=self._rules.guard) is not None
        candidates = self._hazards.candidates(category, codes, known, damp_words=damp_words)
        day = at.astimezone(self.calendar.tz).date()
        emergency = priority is Priority.EMERGENCY

        def applies(hazard: str) -> bool:
            group = self._hazards.group(hazard)
            return self._hazards.in_force(group, day) and (emergency or self._hazards.significant(group, priority))

        chosen = next((c for c in candidates if applies(c.hazard)), None)
        shown = chosen or (candidates[0] if candidates else None)
        hazard = shown.hazard if shown else None
        group = self._hazards.group(hazard) if hazard else None

        def no_clocks() -> AwaabStatus:
            return AwaabStatus(False, None, hazard, group)

        if not cfg.enabled:
            return no_clocks()
        if cfg.in_force_from is not None and day < cfg.in_force_from:
            return no_clocks()
        if tenure is None:
            if not cfg.apply_when_tenure_unknown:
                return no_clocks()
        elif tenure not in cfg.tenures:
            return no_clocks()
        if emergency and (cfg.emergency.every_hazard or chosen is not None):
            return AwaabStatus(True, "awaab:emergency_hazard", hazard, group)
        if chosen is None:
            return no_clocks()
        if chosen.hazard == DAMP_MOULD and category in cfg.damp_mould.categories:
            reason = "awaab:damp_mould"
        elif chosen.source == "text":
            reason = "awaab:damp_mould_text"
        else:
            reason = f"awaab:{group}"
        return AwaabStatus(True, reason, hazard, group)

    # -- deadlines --------------------------------------------------------------------------------

    def deadlines(self, assessment: Assessment, category: str, reported_at: datetime) -> Deadlines:
        self.category(category)  # unknown codes fail loudly
        reported = require_aware(reported_at, "reported_at")
        timescale = self.config.timescales.for_priority(assessment.priority)
        due_at = self._after(reported, hours=timescale.hours, working_days=timescale.working_days)

        make_safe_by: datetime | None = None
        if assessment.emergency:
            make_safe_hours = timescale.make_safe_hours or timescale.hours
            if make_safe_hours is not None:
                make_safe_by = reported + timedelta(hours=make_safe_hours)

        awaab_investigate_by: datetime | None = None
        if assessment.awaab:
            awaab = self.config.awaab
            if assessment.emergency:
                awaab_investigate_by = reported + timedelta(hours=awaab.emergency.investigate_hours)
                # Awaab's Law: investigate *and make safe* within the emergency window.
                if make_safe_by is None or awaab_investigate_by < make_safe_by:
                    make_safe_by = awaab_investigate_by
            else:
                awaab_investigate_by = self.calendar.add_working_days(
                    reported, awaab.significant.investigate_working_days
                )

        return Deadlines(
            due_at=due_at,
            make_safe_by=make_safe_by,
            awaab_investigate_by=awaab_investigate_by,
            awaab_safety_work_by=None,
        )

    def _after(self, start: datetime, *, hours: int | None, working_days: int | None) -> datetime:
        if hours is not None:
            return start + timedelta(hours=hours)
        assert working_days is not None  # the schema guarantees one of the two
        return self.calendar.add_working_days(start, working_days)

    def awaab_after_investigation(self, investigated_at: datetime) -> tuple[datetime, datetime]:
        """(written summary by, safety work by), both counted in working days from the investigation."""
        significant = self.config.awaab.significant
        investigated = require_aware(investigated_at, "investigated_at")
        return (
            self.calendar.add_working_days(investigated, significant.written_summary_working_days),
            self.calendar.add_working_days(investigated, significant.safety_work_working_days),
        )

    def awaab_further_works_by(self, investigated_at: datetime) -> datetime:
        """When further (supplementary preventative) works must have started: 12 weeks by default."""
        weeks = self.config.awaab.significant.further_works_weeks
        return self.calendar.add_calendar_days(require_aware(investigated_at, "investigated_at"), weeks * 7)

    def complaint_stage(self, stage: int) -> ComplaintStage:
        """The timescales of stage 1 or 2 (ValueError for any other)."""
        stages = {1: self.config.complaints.stage_1, 2: self.config.complaints.stage_2}
        if stage not in stages:
            raise ValueError(f"complaint stage must be 1 or 2, got {stage!r}")
        return stages[stage]

    def complaint_deadlines(self, received_at: datetime, stage: int) -> tuple[datetime, datetime]:
        """(acknowledge by, respond by) for a complaint received (or escalated) at `received_at`. Until it
        is acknowledged, the response is counted from the acknowledgement deadline."""
        cfg = self.complaint_stage(stage)
        acknowledge_by = self.calendar.add_working_days(
            require_aware(received_at, "received_at"), cfg.acknowledge_working_days
        )
        return acknowledge_by, self.calendar.add_working_days(acknowledge_by, cfg.respond_working_days)

    def complaint_respond_by(self, acknowledged_at: datetime, stage: int) -> datetime:
        """Once acknowledged, the answer is due the stated working days after the acknowledgement itself
        (the Complaint Handling Code: 10 at stage 1, 20 at stage 2)."""
        cfg = self.complaint_stage(stage)
        return self.calendar.add_working_days(require_aware(acknowledged_at, "acknowledged_at"),
                                              cfg.respond_working_days)

    # -- responsibility and wording ---------------------------------------------------------------

    def responsibility(
        self, tenure: Tenure, category: str, location_type: LocationType, text: str = ""
    ) -> Responsibility:
        self.category(category)
        outcome, _ = self._responsibility.decide(tenure, category, location_type, text)
        return outcome

    def responsibility_rule(self, tenure: Tenure, category: str, location_type: LocationType, text: str = "") -> str:
        """What decided `responsibility(...)`: "rule:<id>", "category:<code>" or "default" (for audit)."""
        self.category(category)
        return self._responsibility.decide(tenure, category, location_type, text)[1]

    def hazard_group_name(self, group: str) -> str:
        """The group's name for officers ("Falls"); an unknown code (a group since removed) in words."""
        config = self.config.awaab.hazard_groups.get(group)
        return (config.name if config and config.name else None) or group.replace("_", " ").capitalize()

    def hazard_name(self, hazard: str) -> str:
        return HHSRS_NAMES.get(hazard) or hazard.replace("_", " ").capitalize()

    def describe_deadline(self, when: datetime, now: datetime) -> str:
        return describe_deadline(when, now, self.calendar.tz)


def _with_vulnerability(facts: Facts, vulnerable: bool) -> Facts:
    """The facts with what the resident's record (or the message's words) says about vulnerability: someone
    vulnerable at home is at risk. The record wins over a "no" in the message: the safe side."""
    if not vulnerable or facts.get("at_risk") is True:
        return facts
    return Facts(facts.affected, {**facts.qualifiers, "at_risk": Qualifier(True, 1.0)})
