"""Matching configured phrases against what residents type: normalising, clauses and cheap negation guards.

Text is lower-cased and apostrophes are dropped before matching ("can't" becomes "cant", "lecky's" becomes
"leckys"), so the patterns in the YAML are written without apostrophes. Punctuation is kept: it marks the
clauses the negation guard looks inside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4\u02bc")
_SPACES = re.compile(r"[^\S\n]+")
# A clause ends at punctuation or at a joining word; negation never reaches across one.
_CLAUSE_BREAK = re.compile(
    r"[.,;:!?\n()]|\b(?:and|but|or|so|because|cos|coz|though|although|however|then|when|while)\b"
)
_SENTENCE_BREAK = re.compile(r"[.!?;\n]")
_WORD = re.compile(r"[a-z]+")


def normalise(text: str) -> str:
    """Lower-case, drop apostrophes, squeeze spaces (newlines are kept as sentence breaks)."""
    return _SPACES.sub(" ", text.lower().translate(_APOSTROPHES)).strip()


def compile_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True)
class NegationGuard:
    """Discards a match when a negation word sits just before it in the same clause ("no smell of gas"),
    or, for rules that allow it, when the rest of the sentence says it has stopped ("not leaking any more").
    """

    words: frozenset[str]
    window: int
    resolved: tuple[re.Pattern[str], ...]

    def negated(self, text: str, match: re.Match[str]) -> bool:
        if not self.window:
            return False
        start = _clause_start(text, match.start())
        before = _WORD.findall(text[start : match.start()])[-self.window :]
        following = [*before[1:], ""] if before else []
        # "cant stop the water" and "it wont stop sparking" are not negations.
        return any(word in self.words and nxt != "stop" for word, nxt in zip(before, following, strict=True))

    def says_resolved(self, text: str) -> bool:
        """Whether anything in the text says the problem has stopped ("fire brigade got me out")."""
        return any(p.search(text) for p in self.resolved)

    def resolved_after(self, text: str, match: re.Match[str]) -> bool:
        end = _SENTENCE_BREAK.search(text, match.end())
        rest = text[match.end() : end.start() if end else len(text)]
        return any(p.search(rest) for p in self.resolved)


def _clause_start(text: str, pos: int) -> int:
    start = 0
    for brk in _CLAUSE_BREAK.finditer(text, 0, pos):
        start = brk.end()
    return start


def clause_around(text: str, match: re.Match[str]) -> str:
    """The clause holding `match` (the match itself may span a joining word)."""
    start = _clause_start(text, match.start())
    end = _CLAUSE_BREAK.search(text, match.end())
    return text[start : end.start() if end else len(text)]


def search_any(patterns: Iterable[re.Pattern[str]], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        found = pattern.search(text)
        if found:
            return found
    return None


def find_guarded(
    patterns: Iterable[re.Pattern[str]],
    text: str,
    *,
    guard: NegationGuard | None = None,
    exclude: Iterable[re.Pattern[str]] = (),
    check_resolved: bool = False,
) -> re.Match[str] | None:
    """The first match of any pattern that is not negated, excluded or said to be resolved."""
    exclude = tuple(exclude)
    for pattern in patterns:
        for match in pattern.finditer(text):
            if guard is not None and guard.negated(text, match):
                continue
            if exclude:
                clause = clause_around(text, match)
                if any(e.search(clause) for e in exclude):
                    continue
            if guard is not None and check_resolved and guard.resolved_after(text, match):
                continue
            return match
    return None
