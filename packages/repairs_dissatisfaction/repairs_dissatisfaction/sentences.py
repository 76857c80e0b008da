"""A long message split into the sentences (and "but" clauses) the classifier also scores one by one.

A resident often reports a new fault in four sentences and says in the fifth what they think of how the last
one was handled ("...and this is the third time, the last man just painted over it"). Scored as a whole, the
report's sentences outweigh the one that matters; scored alone, that sentence reads as what it is. The rule that
combines the parts with the whole is in model.py (`DissatisfactionModel.combine`); this module only cuts.

Cutting is by punctuation and line breaks, and before a "but" that follows a comma or starts a clause: where
residents turn from the fault to the handling ("the boiler is fixed, but nobody has come about the damp").
Pieces of fewer than MIN_WORDS words ("Hi.", "Thanks!") are joined to their neighbour: alone they are noise to
the encoder. A message that gives fewer than two pieces is not split at all, so short messages cost nothing more.
"""

from __future__ import annotations

import re

MIN_WORDS = 4
# Sentence ends (one or more of . ! ? followed by a space), semicolons, line breaks, and a comma or dash before
# "but"/"however" (kept with the clause it starts: "but nobody came" is the part that carries the feeling).
_CUT = re.compile(r"(?<=[.!?])\s+|[;\n]+\s*|\s+-+\s+|,\s*(?=(?:but|however)\b)", re.IGNORECASE)
_WORD = re.compile(r"\w+")


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def sentences(text: str) -> list[str]:
    """The pieces of `text` worth scoring alone, in order; [] when it is one piece (score the whole only)."""
    pieces = [p.strip(" ,") for p in _CUT.split(text or "") if p and p.strip(" ,")]
    merged: list[str] = []
    for piece in pieces:
        if merged and (_words(piece) < MIN_WORDS or _words(merged[-1]) < MIN_WORDS):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged if len(merged) >= 2 else []
