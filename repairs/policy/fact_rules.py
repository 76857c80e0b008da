"""Fact rules: a priority decided from what a report says (affected, how much, who is at risk, where).

The rules are data (data/policy.yml, `fact_rules`) over the shared vocabulary of repairs_common.facts. Each
rule's conditions are read in three values: they hold, they fail, or they are open because a qualifier they
need is unknown. The first rule that holds decides; an open rule decides only when its `if_unknown` says so
(the safe side for a severe risk), and an open rule ahead of the decision is what the resident is asked about
(`fact_questions`): the answer could change the priority.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from repairs_common.facts import CARBON_MONOXIDE, GAS_LEAK, QUALIFIERS, Facts, FactsError

from repairs.policy.schema import ASK, FactQuestionConfig, FactRuleConfig, FactValue
from repairs.policy.vocabulary import Priority

# Lower is more pressing.
RANK = {Priority.EMERGENCY: 0, Priority.URGENT: 1, Priority.ROUTINE: 2}
# Never asked about: their safety advice comes first, always.
NEVER_ASK = frozenset({GAS_LEAK, CARBON_MONOXIDE})

Known = Mapping[str, bool | str | None]


@dataclass(frozen=True)
class FactRule:
    id: str
    priority: Priority
    affected: frozenset[str]
    # qualifier -> the values it may take (None: also when the message does not say), in the file's order
    conditions: tuple[tuple[str, frozenset[FactValue]], ...]
    # qualifier -> the priority to decide at while it is unknown (None: ask, the rule does not apply)
    if_unknown: Mapping[str, Priority | None]
    advice: str | None = None

    @classmethod
    def from_config(cls, config: FactRuleConfig) -> FactRule:
        conditions: list[tuple[str, frozenset[FactValue]]] = []
        for name, accepted in config.when.items():
            if name != "affected":
                conditions.append((name, frozenset(accepted if isinstance(accepted, list) else [accepted])))
        if "current" not in config.when:
            conditions.append(("current", frozenset([True])))
        names = [name for name, _ in conditions]
        if isinstance(config.if_unknown, dict):
            given = config.if_unknown
            if_unknown = {n: _priority_or_ask(given.get(n, ASK)) for n in names}
        else:
            if_unknown = {n: _priority_or_ask(config.if_unknown) for n in names}
        return cls(
            id=config.rule,
            priority=Priority(config.priority),
            affected=frozenset(config.codes()),
            conditions=tuple(conditions),
            if_unknown=if_unknown,
            advice=config.advice,
        )

    def evaluate(self, codes: frozenset[str], known: Known) -> tuple[bool, tuple[str, ...]]:
        """(applies, unknown qualifiers): (True, ()) holds; (False, ()) fails; (True, names) is open on them."""
        if not self.affected & codes:
            return False, ()
        unknown: list[str] = []
        for name, accepted in self.conditions:
            value = known.get(name)
            if value is None:
                if None not in accepted:
                    unknown.append(name)
            elif not _accepts(accepted, value):
                return False, ()
        return True, tuple(unknown)

    def while_unknown(self, unknown: tuple[str, ...]) -> Priority | None:
        """The priority this open rule decides at while `unknown` are not known; None when it waits to ask."""
        choices = [self.if_unknown.get(name) for name in unknown]
        if any(choice is None for choice in choices):
            return None
        return max((c for c in choices if c is not None), key=RANK.__getitem__)


def _accepts(accepted: frozenset[FactValue], value: bool | str) -> bool:
    # `True in {1}` would hold in Python; the vocabulary has no numbers, but compare types to be sure.
    return any(type(a) is type(value) and a == value for a in accepted)


def _priority_or_ask(choice: str) -> Priority | None:
    return None if choice == ASK else Priority(choice)


@dataclass(frozen=True)
class Option:
    label: str
    value: bool | str


@dataclass(frozen=True)
class Question:
    qualifier: str
    text: str
    options: tuple[Option, ...]

    def to_json(self) -> dict[str, object]:
        return {"qualifier": self.qualifier, "text": self.text,
                "options": [{"label": o.label, "value": o.value} for o in self.options]}


@dataclass(frozen=True)
class FactQuestion:
    affected: frozenset[str] | None
    question: Question

    @classmethod
    def from_config(cls, config: FactQuestionConfig) -> FactQuestion:
        return cls(
            affected=frozenset(config.affected) if config.affected is not None else None,
            question=Question(config.qualifier, config.text,
                              tuple(Option(o.label, o.value) for o in config.options)),
        )


@dataclass(frozen=True)
class FactDecision:
    rule: FactRule | None  # None: no rule applies (the category's default holds)
    priority: Priority | None
    assumed: tuple[str, ...]  # unknown qualifiers the rule was applied without (if_unknown)
    open_rules: tuple[tuple[FactRule, tuple[str, ...]], ...]  # open rules up to and including the decision


@dataclass(frozen=True)
class FactRuleSet:
    rules: tuple[FactRule, ...]
    questions: tuple[FactQuestion, ...]
    confidence: float

    def known(self, facts: Facts) -> dict[str, bool | str | None]:
        """Each qualifier's value, None when not said or held with too little confidence to act on."""
        out: dict[str, bool | str | None] = {}
        for name in QUALIFIERS:
            q = facts.qualifiers.get(name)
            out[name] = q.value if q is not None and q.p >= self.confidence else None
        if out["current"] is None:
            out["current"] = True  # a resident reporting something means it is happening, unless said otherwise
        return out

    def codes(self, facts: Facts) -> frozenset[str]:
        return facts.codes(self.confidence)

    def decide(self, facts: Facts) -> FactDecision:
        codes = self.codes(facts)
        known = self.known(facts)
        open_rules: list[tuple[FactRule, tuple[str, ...]]] = []
        # An open rule's best decision below an emergency (a window that may not shut: urgent while we ask)
        # stands unless a later rule decides an emergency: a report naming two hazards ("the restrictor has
        # gone, the window opens fully, 7th floor, my son is 3" also reads as a window that will not shut) is
        # as pressing as the worst of them. A rule that holds outright still decides at once.
        meanwhile_decision: FactDecision | None = None
        for rule in self.rules:
            applies, unknown = rule.evaluate(codes, known)
            if not applies:
                continue
            if not unknown:
                if meanwhile_decision is None or rule.priority is Priority.EMERGENCY:
                    return FactDecision(rule, rule.priority, (), tuple(open_rules))
                continue
            open_rules.append((rule, unknown))
            meanwhile = rule.while_unknown(unknown)
            if meanwhile is None:
                continue
            decision = FactDecision(rule, meanwhile, unknown, tuple(open_rules))
            if meanwhile is Priority.EMERGENCY:
                return decision
            meanwhile_decision = meanwhile_decision or decision
        return meanwhile_decision or FactDecision(None, None, (), tuple(open_rules))

    def question(self, facts: Facts, decision: FactDecision, final: Priority) -> Question | None:
        """The one question whose answer could change `final`, the priority decided: about the first open
        rule that would decide otherwise, or that was applied without knowing. None for gas and carbon
        monoxide, and when nothing unknown matters."""
        codes = self.codes(facts)
        if codes & NEVER_ASK:
            return None
        for rule, unknown in decision.open_rules:
            assumed = rule is decision.rule
            if not assumed and rule.priority is final:
                continue
            for name in unknown:
                found = self._question_for(name, codes)
                if found is not None:
                    return found
        return None

    def _question_for(self, qualifier: str, codes: frozenset[str]) -> Question | None:
        for q in self.questions:
            if q.question.qualifier == qualifier and (q.affected is None or q.affected & codes):
                return q.question
        return None

    @classmethod
    def from_config(
        cls, rules: list[FactRuleConfig], questions: list[FactQuestionConfig], confidence: float
    ) -> FactRuleSet:
        return cls(
            rules=tuple(FactRule.from_config(r) for r in rules),
            questions=tuple(FactQuestion.from_config(q) for q in questions),
            confidence=confidence,
        )


def parse_facts(doc: object) -> Facts:
    """Facts.from_json, with every malformed document a FactsError (a number where the list of affected
    codes goes would otherwise be a TypeError)."""
    try:
        return Facts.from_json(doc)  # type: ignore[arg-type]
    except (TypeError, AttributeError) as exc:
        raise FactsError(f"facts are not in the wire form ({type(exc).__name__})") from None


def read_reported_facts(doc: Mapping[str, object] | None, answers: Mapping[str, object] | None) -> Facts | None:
    """Facts sent with a report (wire form) with the resident's answers to questions laid over them (each held
    with confidence 1). None when no facts were sent: the phrase rules decide. FactsError for anything outside
    the vocabulary, or answers without facts to answer about."""
    if doc is None:
        if answers:
            raise FactsError("answers need the facts they answer questions about")
        return None
    facts = parse_facts(doc)
    for name, value in (answers or {}).items():
        if not isinstance(value, bool | str):
            raise FactsError(f"the answer for {name!r} must be true, false or one of its values")
        facts = facts.with_answer(name, value)
    return facts
