"""Human ticket references such as HR-7K3Q9M.

Six characters from a 30-letter alphabet without look-alikes (0/O, 1/I/L, U) give 729 million
references drawn at random, so a resident cannot guess their neighbour's by counting.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6
TICKET_PREFIX = "HR"
COMPLAINT_PREFIX = "CP"
_PATTERN = re.compile(rf"^(HR|CP)-[{ALPHABET}]{{{LENGTH}}}$")


def new_reference(prefix: str = TICKET_PREFIX) -> str:
    return f"{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_reference(raw: str) -> str | None:
    """Accept what residents type ('hr 7k3q9m', 'HR7K3Q9M', 'hr-7k3q9m'); None if it cannot be one."""
    cleaned = re.sub(r"[\s\-_]", "", raw.strip().upper())
    if len(cleaned) != len(TICKET_PREFIX) + LENGTH:
        return None
    candidate = f"{cleaned[:2]}-{cleaned[2:]}"
    # Residents type O for 0 and I for 1; neither is in the alphabet, so no ambiguity is introduced.
    return candidate if _PATTERN.match(candidate) else None
