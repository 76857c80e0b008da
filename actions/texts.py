"""Wording shared by several actions: plain English, short sentences, UK spelling."""

from __future__ import annotations

from typing import Any, Dict, List

# Keyed by the shared category codes (repairs_common.taxonomy); tests check they name every one.
CATEGORY_NAMES = {
    "plumbing": "plumbing or a leak",
    "heating": "heating or hot water",
    "electrical": "electrics",
    "gas": "gas",
    "damp_mould": "damp or mould",
    "roofing": "the roof or gutters",
    "doors_windows": "a door, lock or window",
    "fittings": "kitchen or bathroom fittings",
    "walls_floors": "walls, ceilings or floors",
    "pests": "pests",
    "lifts": "a lift",
    "communal": "a shared area (stairs, lights, door entry, bins)",
    "external": "outside (fences, gates, paths, drains)",
    "fire_safety": "fire safety (alarms, fire doors)",
    "other": "something else",
}

BUTTON_LABELS = {
    "plumbing": "Plumbing / leak",
    "heating": "Heating / hot water",
    "electrical": "Electrics",
    "gas": "Gas",
    "damp_mould": "Damp / mould",
    "roofing": "Roof / gutters",
    "doors_windows": "Doors / windows",
    "fittings": "Kitchen / bathroom fittings",
    "walls_floors": "Walls / ceilings / floors",
    "pests": "Pests",
    "lifts": "Lift",
    "communal": "Shared areas",
    "external": "Outside",
    "fire_safety": "Fire safety",
    "other": "Something else",
}

# What the actions say in their own words. (The domain keeps only what rules say, so that
# `rasa data validate` can check every response is used.)

# The council's repairs number, for the messages that must work when the repairs service (which knows it too)
# does not answer. The action server sets it from REPAIRS_PHONE at start-up; configuration, not state.
_repairs_phone = "020 7974 4444"


def set_repairs_phone(phone: str) -> None:
    global _repairs_phone
    _repairs_phone = phone


def repairs_phone() -> str:
    return _repairs_phone


def service_down() -> str:
    """A failure on our side (the repairs service down, timing out, failing): never the resident's mistake."""
    return (
        "Sorry, something went wrong on our side. Nothing you've told me is lost: please try again in a minute, "
        f"or call the repairs team on {_repairs_phone}. If it's an emergency, call straight away."
    )


# Verification failed on our side: the tenancy reference is kept, and the postcode is all that is asked again.
VERIFY_TROUBLE_START = "Sorry, something went wrong on our side and I couldn't check your details just now."


def verify_trouble() -> str:
    return (
        f"{VERIFY_TROUBLE_START} Nothing you've told me is lost: in a minute, send me your postcode again and I'll "
        f"try once more. Or call the repairs team on {_repairs_phone}."
    )


VERIFY_FAILED_FINALLY = (
    "I still can't match those details, so I can't look at your repairs here. Please call the repairs team and "
    "they'll sort it out with you."
)
NOT_VERIFIED_YET = "I'll need to check who you are before I can do that."
REPORT_CANCELLED = "OK, I haven't logged anything. If you want to start again, just tell me what's wrong."
ANYTHING_ELSE = "Is there anything else I can help with?"
PHOTO_HOW = (
    "You can send a photo here in the chat (use the paperclip or camera button) and I'll add it to your repair."
)
ASK_REPHRASE = (
    "Sorry, I didn't quite get that. Could you say it another way? For example: \"my kitchen tap is leaking\" or "
    "\"check my repair\"."
)


# Buttons answer with `inform` and an entity: the same intent a typed answer gets, so a resident can
# tap or type ("HR-7K3Q9M") and the dialogue is the same.
def category_buttons(codes: List[str]) -> List[Dict[str, Any]]:
    return [
        {"title": BUTTON_LABELS.get(code, code), "payload": f'/inform{{"category": "{code}"}}'}
        for code in codes
    ]


def yes_no(yes: str = "Yes", no: str = "No") -> List[Dict[str, Any]]:
    return [{"title": yes, "payload": "/affirm"}, {"title": no, "payload": "/deny"}]


def ticket_buttons(tickets: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [
        {
            "title": f"{t['reference']}: {t['category_name']}"[:60],
            "payload": f'/inform{{"ticket_ref": "{t["reference"]}"}}',
        }
        for t in tickets[:8]
    ]


def describe_ticket(t: Dict[str, Any]) -> str:
    # A neighbour's report the resident is linked to ("me too", or a merged duplicate) says so.
    whose = ", reported by a neighbour; you're linked to it" if t.get("linked") else ""
    line = f"{t['reference']} ({t['category_name'].lower()}{whose}): {t['status_text']}"
    if t.get("appointment"):
        line += f" Appointment: {t['appointment']['text']}."
    elif t.get("status") not in ("completed", "closed", "cancelled", "merged"):
        due = str(t["due_text"])
        line += f" It is {due}; we're sorry it's late." if due.startswith("overdue") else f" We aim to finish it {due}."
    return line
