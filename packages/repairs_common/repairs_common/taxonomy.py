"""The repair categories the assistant and the repairs service share.

The codes are fixed by the assistant's trained model (one intent `repair_<code>` per category) and by the
triage and Open311 contracts, so they live here rather than in a data file one side could change alone.
data/categories.yml describes each code for the council (name, trade, default priority): the service's policy
loader refuses a file that does not list exactly these codes, or that disagrees about which are communal.
"""

from __future__ import annotations

from typing import TypeGuard

CATEGORY_CODES: tuple[str, ...] = (
    "plumbing",
    "heating",
    "electrical",
    "gas",
    "damp_mould",
    "roofing",
    "doors_windows",
    "fittings",
    "walls_floors",
    "pests",
    "lifts",
    "communal",
    "external",
    "fire_safety",
    "other",
)
# By nature about the shared parts of a building: the assistant does not ask whether they are in the home.
COMMUNAL_CATEGORIES: frozenset[str] = frozenset({"roofing", "lifts", "communal", "external"})
FALLBACK_CATEGORY = "other"
REPAIR_INTENT_PREFIX = "repair_"


def is_category(code: object) -> TypeGuard[str]:
    """A known category code (a button's payload, an entity's value)."""
    return isinstance(code, str) and code in CATEGORY_CODES


def category_from_intent(intent: str) -> str | None:
    """'repair_plumbing' -> 'plumbing'; None for an intent that names no known category."""
    if not intent.startswith(REPAIR_INTENT_PREFIX):
        return None
    code = intent[len(REPAIR_INTENT_PREFIX) :]
    return code if code in CATEGORY_CODES else None


def repair_intent(code: str) -> str:
    """The assistant's intent for reporting a repair in this category."""
    if code not in CATEGORY_CODES:
        raise ValueError(f"unknown repair category {code!r}")
    return REPAIR_INTENT_PREFIX + code
