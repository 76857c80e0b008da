"""Tenancy references: a T and six digits, written 'T-100234'. Residents type them loosely ('t100234',
'T 100234', 'my ref is T-100234'); the repairs service stores and compares the one written form.
"""

from __future__ import annotations

import re

EXAMPLE = "T-100234"
DESCRIPTION = "a T followed by six numbers"

# A hyphen, an en dash (phones put one in) or a space may sit between the T and the digits.
_WHOLE = re.compile(r"T[-\u2013 ]?([0-9]{6})")
_IN_TEXT = re.compile(r"(?<![\w-])T[-\u2013 ]?([0-9]{6})(?![\w-])", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def normalise_tenancy_reference(raw: str) -> str | None:
    """'t 100234' or ' T-100234 ' -> 'T-100234'; None when the whole of `raw` is not a tenancy reference."""
    match = _WHOLE.fullmatch(_SPACES.sub(" ", (raw or "").strip()).upper())
    return f"T-{match.group(1)}" if match else None


def without_tenancy_references(text: str, placeholder: str) -> str:
    """`text` with every tenancy reference written in it replaced by `placeholder` (what the listening store
    keeps of a resident's words: repairs/listening/redaction.py)."""
    return _IN_TEXT.sub(placeholder, text or "")


def find_tenancy_reference(text: str) -> str | None:
    """The first tenancy reference written anywhere in `text`, normalised."""
    match = _IN_TEXT.search(text or "")
    return f"T-{match.group(1)}" if match else None
