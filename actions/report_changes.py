"""Changing one part of a report at its summary: "no, that's wrong" asks which part, and only that part is
asked again; everything else the resident gave is kept, and the summary comes back to be confirmed."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

CHANGING = "change_field"  # `awaiting`: "which part is wrong?" has been asked
CHANGING_DETAILS = "change:details"  # `awaiting`: the details are being given again

# Each part of the summary, what a resident calls it, and the button that picks it.
_FIELDS = (
    ("category", "Type of problem",
     re.compile(r"\b(type|kind|sort|category|problem is|it'?s not (a|an|the)|wrong (problem|thing|type))\b", re.I)),
    ("place", "Where it is",
     re.compile(r"\b(where|place|room|location|address|kitchen|bathroom|bedroom|hall|stairs?|lift)\b", re.I)),
    ("details", "What's happening",
     re.compile(r"\b(details?|description|what('?s| is) happening|what i said)\b", re.I)),
    ("access", "When we can come", re.compile(r"\b(access|times?|when|days?|mornings?|afternoons?|available)\b", re.I)),
    ("vulnerable_present", "Who is at home",
     re.compile(r"\b(vulnerable|elderly|disabled|baby|child(ren)?|pregnant)\b", re.I)),
)
FIELD_NAMES = tuple(code for code, _, _ in _FIELDS)

# A "no" that drops the report rather than correcting it ("no, leave it, I'll sort it myself").
_LEAVING = re.compile(r"\b(leave it|forget it|cancel|don'?t bother|not needed|myself|never ?mind|scrap)\b", re.I)


def leaving(text: str) -> bool:
    return bool(_LEAVING.search(text))


def named_field(value: Any, offered: List[str]) -> Optional[str]:
    """The part of the summary a button or typed words pick, among those the summary showed."""
    if value in offered:
        return str(value)
    text = str(value or "")
    for code, _, pattern in _FIELDS:
        if code in offered and pattern.search(text):
            return code
    return None


def offered(tracker: Tracker) -> List[str]:
    """The parts of this report's summary the resident can change."""
    return [code for code in FIELD_NAMES
            if code in ("category", "place", "details") or tracker.get_slot(code) is not None]


def buttons(offered: List[str]) -> List[Dict[str, Any]]:
    picks = [{"title": title, "payload": f'/inform{{"field": "{code}"}}'} for code, title, _ in _FIELDS
             if code in offered]
    return [*picks, {"title": "Cancel the report", "payload": "/stop"}]


def reopened(code: str) -> Dict[str, Any]:
    """The slots that ask `code` again (the summary is asked for again after it)."""
    slots: Dict[str, Any] = {"report_confirmed": None, "awaiting": None}
    if code == "category":
        slots.update(category_confirmed=None, awaiting="choose_category")
    elif code == "details":
        slots.update(details=None, awaiting=CHANGING_DETAILS)
    else:
        slots[code] = None
    return slots


def changing(tracker: Tracker) -> bool:
    return tracker.get_slot("awaiting") == CHANGING
