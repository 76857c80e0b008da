"""A report's HHSRS hazard, and whether its hazard group is under Awaab's Law's clocks on a given day.

Which facts and categories mean which hazard, and from when each group of hazards gets the clocks, are council
data (data/policy.yml, `awaab`); this module only reads them. A report can suggest several hazards (its facts,
its category, damp or mould in its words): they are tried in that order, and the first whose group's clocks
apply is the report's hazard, so a second reading never takes a clock away that the first would not give.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from repairs.policy.schema import AwaabConfig, FactValue
from repairs.policy.vocabulary import Priority

DAMP_MOULD = "damp_mould"


@dataclass(frozen=True)
class Candidate:
    hazard: str
    source: str  # "facts", "category" or "text": where the reading came from (for the reasons)


@dataclass(frozen=True)
class HazardMap:
    config: AwaabConfig

    def candidates(
        self, category: str, codes: frozenset[str], known: Mapping[str, FactValue], *, damp_words: bool
    ) -> list[Candidate]:
        """The hazards a report suggests, most telling first: its facts', its category's, then damp and
        mould when its words say so. Without facts (`codes` empty) the category speaks."""
        out: list[Candidate] = []
        for entry in self.config.hazard_from_facts:
            if codes & set(entry.affected) and all(_fits(known.get(name), accepted)
                                                   for name, accepted in entry.when.items()):
                out.append(Candidate(entry.hazard, "facts"))
        # The category names a hazard only for a report without facts: facts that name what is affected say
        # more (a heating report in June is not excess cold). Damp and mould's categories and words count
        # either way, as they did before the phases.
        by_category = None if codes else self.config.hazard_from_categories.get(category)
        if by_category is not None:
            out.append(Candidate(by_category, "category"))
        if category in self.config.damp_mould.categories:
            out.append(Candidate(DAMP_MOULD, "category"))
        if damp_words:
            out.append(Candidate(DAMP_MOULD, "text"))
        unique: list[Candidate] = []
        for c in out:
            if all(c.hazard != u.hazard for u in unique):
                unique.append(c)
        return unique

    def group(self, hazard: str) -> str | None:
        return self.config.group_of(hazard)

    def in_force(self, group: str | None, day: date) -> bool:
        """Does the group have the clocks on `day` (the report's local date)?"""
        if group is None:
            return False
        start = self.config.hazard_groups[group].in_force_from
        return start is not None and day >= start

    def significant(self, group: str | None, priority: Priority) -> bool:
        """Is a report in the group at this priority (not an emergency) a significant hazard?"""
        return group is not None and priority in self.config.hazard_groups[group].significant_at


def _fits(value: FactValue, accepted: FactValue | list[FactValue]) -> bool:
    return value in (accepted if isinstance(accepted, list) else [accepted])
