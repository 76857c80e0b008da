"""UK postcodes as residents type them ('nw17ab', 'NW1  7AB') to the one form we store ('NW1 7AB')."""

from __future__ import annotations

import re

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def normalise_postcode(raw: str) -> str | None:
    compact = re.sub(r"\s+", "", raw).upper()
    match = _POSTCODE.match(compact)
    if not match:
        return None
    return f"{match.group(1)} {match.group(2)}"
