"""Facts sent with a request (the assistant's reading of a report, and the resident's answers), read for the
API: anything outside repairs_common.facts' vocabulary is the caller's mistake, a 422 that names it."""

from __future__ import annotations

from typing import Any

from repairs_common.facts import Facts, FactsError

from repairs.policy.fact_rules import read_reported_facts
from repairs.problems import Problem


def facts_or_422(doc: dict[str, Any] | None, answers: dict[str, bool | str] | None) -> Facts | None:
    try:
        return read_reported_facts(doc, answers)
    except FactsError as exc:
        # The message names a code, qualifier or value of the vocabulary, never the resident's words.
        raise Problem(422, "invalid_facts", "Facts outside the vocabulary", str(exc)) from None
