"""What a resident's words lose before they are kept: names, phone numbers, e-mail addresses, tenancy and
ticket references, postcodes and street addresses become placeholders such as [NAME] and [PHONE].

Pattern rules catch what has a shape (a phone number, a postcode) and what is introduced as a name ("my name
is ...", "Mrs ..."). Names without such a cue are caught when the service knows them: the resident's own and
every resident's on record (`KnownNames`). A word that is both a name and an everyday word ("Bath", "Rose")
is taken as a name only when capitalised, so a "bath" stays a bath.

The redactor errs on the side of removing: a street name taken for a name costs a word of context, a name
kept costs a resident's privacy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from repairs_common.postcodes import INWARD, OUTWARD
from repairs_common.tenancy_references import without_tenancy_references

from repairs.tickets.references import ALPHABET

NAME, PHONE, EMAIL, REFERENCE, POSTCODE, ADDRESS = "[NAME]", "[PHONE]", "[EMAIL]", "[REF]", "[POSTCODE]", "[ADDRESS]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Ticket and complaint references (HR-7K3Q9M), tenancy references (T-100234), and any other code a resident
# may quote: letters and digits mixed, five or more long ("acc 12345678", "REF AB12345").
_TICKET = re.compile(rf"\b(?:HR|CP)[-\u2013 ]?[{ALPHABET}]{{6}}\b", re.IGNORECASE)
_CODE = re.compile(r"\b(?=[A-Z0-9-]*[0-9])(?=[A-Z0-9-]*[A-Z])[A-Z0-9][A-Z0-9-]{4,}\b", re.IGNORECASE)
_POSTCODE = re.compile(rf"(?<![\w-]){OUTWARD}[^\S\n]*{INWARD}(?![\w-])", re.IGNORECASE)
# A UK number: 07700 900123, +44 7700 900123, (020) 7974 4444, 0207-974-4444; any run of 7+ digits too.
_PHONE = re.compile(r"(?<![\w+])(?:\+44[\s-]?\(?0?\)?|\(?0)[\d\s()-]{8,14}\d(?!\w)|(?<![\w-])\d[\d\s-]{5,}\d(?![\w-])")
_STREET_WORDS = (
    r"street|st|road|rd|avenue|ave|lane|ln|close|way|crescent|drive|dr|place|pl|square|sq|gardens|gdns|terrace|"
    r"grove|court|ct|mews|row|hill|walk|parade|park|rise|green|vale|yard"
)
# "12 Bramley Road", "Flat 4, 12 Bramley Road", "flat 3b": a house number, up to four words, a street word.
_ADDRESS = re.compile(
    rf"\b(?:(?:flat|apartment|apt|unit)\s+\d+[a-z]?,?\s*)?\d+[a-z]?,?\s+(?:[A-Za-z'-]+\s+){{1,4}}(?:{_STREET_WORDS})\b\.?"
    r"|\b(?:flat|apartment|apt|unit)\s+\d+[a-z]?\b",
    re.IGNORECASE,
)
_TITLE = r"(?:mr|mrs|ms|miss|mx|dr|sir|madam)\.?"
_NAME_WORD = r"[A-Z][a-zA-Z'\u2019-]+"
# A name a resident gives or mentions: "my name is Ann Lee", "I'm Ann", "this is Ann", "Mrs Lee", "signed, Ann".
_INTRODUCED = re.compile(
    rf"(?P<cue>\b(?i:my name is|my name's|name is|i am|i'm|im|this is|it's|its|call me|regards,?|thanks,?|"
    rf"cheers,?|signed,?|from)\s+)(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})"
    rf"|(?P<title>\b(?i:{_TITLE})\s+)(?P<titled>[A-Za-z][a-zA-Z'\u2019-]+(?:\s+{_NAME_WORD})?)"
)
# Words after "I'm"/"this is" that are not names ("I'm Fed up", "this is Urgent").
_NOT_NAMES = frozenset((
    "a", "an", "the", "not", "so", "very", "really", "still", "just", "getting", "going", "having", "fed",
    "sick", "tired", "fine", "ok", "okay", "sorry", "writing", "calling", "contacting", "reporting", "urgent",
    "awful", "ridiculous", "about", "worried", "afraid", "scared", "unable", "in", "on", "at", "happy",
    "unhappy", "disappointed", "angry", "annoyed", "frustrated", "pleased", "grateful", "elderly", "disabled",
    "pregnant", "alone", "living", "stuck", "waiting", "ringing", "asking", "there", "here", "back", "home",
    "out",
))
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]+")


@dataclass(frozen=True)
class KnownNames:
    """The words of residents' names the service holds (lower case, three letters or more)."""

    words: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_full_names(cls, names: Iterable[str], places: Iterable[str] = ()) -> KnownNames:
        """`places`: block and estate names. Their words are kept even when a resident shares them
        ("Bramley House" says where, and a theme needs it), since a place says nothing of who."""
        found: set[str] = set()
        for name in names:
            found.update(w.lower() for w in _WORD.findall(name or "") if len(w) >= 3)
        for place in places:
            found.difference_update(w.lower() for w in _WORD.findall(place or ""))
        return cls(frozenset(found))


def _introduced_name(match: re.Match[str]) -> str:
    if match.group("title"):
        return match.group("title") + NAME
    words = match.group("name").split()
    kept = []
    for word in words:
        if word.lower() in _NOT_NAMES or not word[0].isupper():
            break
        kept.append(word)
    if not kept:
        return match.group(0)
    rest = match.group("name")[len(" ".join(kept)):]
    return match.group("cue") + NAME + rest


def redact(text: str, known: KnownNames | None = None, *, own_names: Iterable[str] = ()) -> str:
    """`text` with personal details replaced by placeholders. `own_names`: the speaker's own full name(s),
    removed whatever their case."""
    out = _EMAIL.sub(EMAIL, text)
    out = _TICKET.sub(REFERENCE, out)
    out = without_tenancy_references(out, REFERENCE)
    out = _POSTCODE.sub(POSTCODE, out)
    out = _ADDRESS.sub(ADDRESS, out)
    out = _PHONE.sub(PHONE, out)
    out = _CODE.sub(REFERENCE, out)
    out = _INTRODUCED.sub(_introduced_name, out)
    own = {w.lower() for name in own_names for w in _WORD.findall(name) if len(w) >= 2}
    words = known.words if known else frozenset()
    if own or words:
        def name_word(match: re.Match[str]) -> str:
            word = match.group(0)
            lowered = word.lower()
            if lowered in own or (lowered in words and word[0].isupper()):
                return NAME
            return word

        out = _WORD.sub(name_word, out)
    # "[NAME] [NAME]" (a first and last name each caught) reads as one name.
    return re.sub(r"\[NAME\](?:\s+\[NAME\])+", NAME, out)
