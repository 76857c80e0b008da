"""UK postcodes: found in what a resident types ('nw18yl', 'NW1  8YL', 'its NW1 8YL') and written one way
('NW1 8YL'), the form the repairs service stores and the assistant sends.

The shape is the postcode's: an outward code of one or two letters, a digit and an optional letter or digit,
then an inward code of a digit and two letters. Whether a postcode exists is for the council's records to say.
"""

from __future__ import annotations

import re

OUTWARD = r"[A-Z]{1,2}[0-9][A-Z0-9]?"
INWARD = r"[0-9][A-Z]{2}"
EXAMPLE = "NW1 7AB"

_WHOLE = re.compile(rf"({OUTWARD})({INWARD})")
# Not inside a longer token: the tail of a repair reference such as HR-C6H2PA is not a postcode.
_IN_TEXT = re.compile(rf"(?<![\w-])({OUTWARD})[^\S\n]*({INWARD})(?![\w-])", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def normalise_postcode(raw: str) -> str | None:
    """'nw18yl' or ' NW1  8YL ' -> 'NW1 8YL'; None when the whole of `raw` is not a postcode."""
    match = _WHOLE.fullmatch(_WHITESPACE.sub("", raw or "").upper())
    return f"{match.group(1)} {match.group(2)}" if match else None


def find_postcode(text: str) -> str | None:
    """The first postcode written anywhere in `text`, normalised ('I live at 3 Elm Rd nw1 8yl' -> 'NW1 8YL')."""
    match = _IN_TEXT.search(text or "")
    return f"{match.group(1).upper()} {match.group(2).upper()}" if match else None


def outward_code(postcode: str) -> str | None:
    """The district half of a postcode ('NW1 8YL' -> 'NW1'): enough for a map, never a front door."""
    normal = normalise_postcode(postcode)
    return normal.split(" ")[0] if normal else None
