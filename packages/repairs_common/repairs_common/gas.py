"""Gas and carbon monoxide in what a resident writes: the one detector both sides use.

The assistant's actions call it before anything else, offline, so the safety advice comes first even when
the repairs service is down; the service's policy calls it through the `detector` rules in data/policy.yml,
so a ticket is an emergency exactly when the assistant gave the gas advice.

    gas_hazards("No heating and gas smell in the kitchen")      -> frozenset({"gas"})
    gas_hazard("I cant smell anything but my CO alarm keeps going off")  -> "carbon_monoxide"

How it reads a message (lower-cased, apostrophes dropped, so "can't" is "cant"):
- A sign (a smell or leak of gas; a carbon monoxide alarm, a symptom beside a gas appliance, yellow flames,
  soot, fumes) counts unless a negation word sits in the few words just before it *in the same clause*
  ("no smell of gas", "I cant smell gas"). Clauses end at punctuation and at joining words, so "No heating
  and gas smell" is a gas smell.
- Carbon monoxide has no smell: "cant smell anything" never negates a carbon monoxide sign.
- A carbon monoxide alarm that is only talked about (fitting one, testing it, a new battery, a low-battery
  chirp) is not one going off; one that is sounding is, whatever else the clause says, unless the sentence
  puts it down to the battery, a chirp or the test button (and does not say it is still going).
- A gas leak an engineer has already dealt with ("capped", "made safe", "fixed") is not a new one.
It is deliberately generous otherwise: a false alarm costs a paragraph of advice, a missed one a life.

Pure standard library; runs on Python 3.10 and 3.11. Patterns are compiled when the module is imported
(cheap and side-effect free), so nothing here touches files, the network or the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GAS = "gas"
CARBON_MONOXIDE = "carbon_monoxide"
# Both hazards get the gas emergency number; carbon monoxide's advice is chosen first when both are seen,
# because getting out into fresh air comes before anything else.
HAZARDS: tuple[str, ...] = (CARBON_MONOXIDE, GAS)

_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`\u00b4\u02bc")
_SPACES = re.compile(r"[^\S\n]+")
_CLAUSE_BREAK = re.compile(
    r"[.,;:!?\n()]|\b(?:and|but|or|so|because|cos|coz|though|although|however|then|when|whenever|while|yet|plus)\b"
)
_SENTENCE_BREAK = re.compile(r"[.!?;\n]")
_WORD = re.compile(r"[a-z0-9]+")

NEGATION_WORDS = frozenset(
    {"no", "not", "never", "without", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "hasnt",
     "havent", "cant", "cannot", "couldnt", "nothing", "none", "nor"}
)
NEGATION_WINDOW = 3  # words before a sign in which a negation word counts
# "cant stop beeping", "not sure if its gas", "no idea": the word after a negation that undoes it.
_NOT_A_NEGATION_BEFORE = frozenset({"stop", "sure", "certain", "idea", "doubt"})
# Carbon monoxide has no smell, so not smelling anything says nothing about it.
_SMELL_WORDS = frozenset({"smell", "smells", "smelt", "smelled", "smelling", "smel", "odour", "odor", "whiff"})
# The words for a smell, for other readers of smells (the fact cues' drain that only smells) to share.
SMELL_WORDS = _SMELL_WORDS

# Within one sentence and not across "and"/"but"/"or", so "smelly bins and the gas meter" is no gas smell.
_NEAR = r"(?:(?!\b(?:and|but|or)\b)[^.!?;\n]){0,%d}?"
_SAME_SENTENCE = r"[^.!?;\n]{0,%d}?"

_GAS_SIGNS = (
    # "smell of gas", "I smelt gas", "smells gassy", "funny smell, might be gas", "i smel gas"
    r"\bsmel+(?:s|t|ls|led|ling|ing|y)?\b" + _NEAR % 15 + r"\bgas+y?\b",
    r"\b(?:stink\w*|pong\w*|reek\w*|odou?rs?|whiff)\b" + _NEAR % 15 + r"\bgas+y?\b",
    # "gas smell", "gassy smell", "gas leak", "gas leek", "gas escape", "gas hissing"
    r"\bgas+y? (?:smel+\w*|leak\w*|leek\w*|escap\w*|hiss\w*|odou?r\w*|stink\w*|pong\w*|whiff)",
    r"\bgas+ (?:is |has been |keeps |still |seems to be |might be )?"
    r"(?:leak\w*|escap\w*|seep\w*|coming out|pouring out)",
    r"\b(?:leak\w*|leek\w*|escap\w*|seep\w*) (?:of )?gas+\b",
    # Hissing from the gas supply (a water boiler's hiss is no gas sign).
    r"\bhiss\w*\b" + _NEAR % 30 + r"\bgas+\b",
    r"\b(?:gas+ (?:meter|pipes?|supply|valve|tap|hob|cooker|fire)|meter)\b" + _SAME_SENTENCE % 20 + r"\bhiss\w*",
    # The smell added to gas so people notice it.
    r"\b(?:rotten|bad) eggs?\b",
    r"\bsul(?:ph|f)ur\w*\b" + _SAME_SENTENCE % 15 + r"\b(?:smel\w*|stink\w*|whiff|odou?r)",
    r"\b(?:smel\w*|stink\w*|whiff|odou?r\w*)\b" + _SAME_SENTENCE % 15 + r"\bsul(?:ph|f)ur",
)

_APPLIANCE = r"(?:boiler|gas fire|gas heater|heater|cooker|gas hob|hob|oven|flue|fireplace|gas appliance)s?"
_SYMPTOM = (r"(?:headaches?|head aches?|dizz(?:y|iness)|nause\w*|drowsy|sleepy|light ?headed|woozy|"
            r"(?:feel|feels|feeling|felt|been|getting|get|gets) (?:sick|faint|ill|unwell|poorly))")
# An alarm or detector, or carbon monoxide named: a sign unless the clause only talks about the device.
_CO_ALARM_SIGNS = (
    r"\bcarbon ?mon\w*",
    r"(?<!carbon )(?<!carbon)\bmonoxide\b",
    r"\b(?:co2?|c o|carbon(?: dioxide)?) ?(?:alarms?|detectors?|monitors?|sensors?)\b",
)
# What carbon monoxide does to people and appliances.
_CO_OTHER_SIGNS = (
    r"\b" + _SYMPTOM + r"\b" + _SAME_SENTENCE % 60 + r"\b" + _APPLIANCE + r"\b",
    r"\b(?:boiler|gas fire|gas heater|heater|heating|cooker|gas hob|oven)s? (?:is |was |are |has been )?"
    r"(?:on|running|lit)\b" + _SAME_SENTENCE % 40 + r"\b" + _SYMPTOM,
    r"\b(?:yellow|orange|lazy|floppy|sooty)(?: or (?:yellow|orange))? flames?\b",
    r"\bflames?\b" + _SAME_SENTENCE % 30 + r"\b(?:burn\w* |gone |go |are |is )?(?:yellow|orange)\b",
    r"\b(?:soot\w*|black (?:marks|stains|staining|soot)|brown (?:marks|stains|staining)|scorch\w* marks)\b"
    + _SAME_SENTENCE % 40 + r"\b" + _APPLIANCE + r"\b",
    r"\b" + _APPLIANCE + r"\b" + _SAME_SENTENCE % 40
    + r"\b(?:soot\w*|black (?:marks|stains|staining)|brown (?:marks|stains|staining)|scorch\w* marks)\b",
    r"\b(?:boiler|flue|gas fire|gas heater)s?\b" + _SAME_SENTENCE % 30 + r"\bfumes\b",
    r"\bfumes\b" + _SAME_SENTENCE % 30 + r"\b(?:boiler|flue|gas fire|gas heater)s?\b",
)
# Flames from sockets or candles are another emergency (or none).
_NOT_FLAMES_OF_GAS = re.compile(r"\b(?:sockets?|plugs?|wir\w*|electric\w*|candles?|bonfire|fireworks?|bbq|barbecue)\b")

_SOUNDING = re.compile(
    r"\b(?:go(?:es|ing)? off|gone off|went off|keeps? going|sound\w*|beep\w*|bleep\w*|ring\w*|alarming|"
    r"screa\w*|screech\w*|shriek\w*|blar\w*|wail\w*|flash\w*|triggered|activated|set off|alert\w*)\b"
)
# The clause is about the device, not an alarm going off.
_DEVICE_TALK = re.compile(
    r"\b(?:need\w*|want\w*|get|getting|have one|fit|fits|fitted|fitting|install\w*|replac\w*|new|check\w*|"
    r"test\w*|servic\w*|expir\w*|out of date|end of life|missing|broken|faulty|fell off|fallen off|hanging off|"
    r"not working|doesnt work|stopped working|removed|taken down|mov(?:e|ed|ing)|where|which|should|supposed|"
    r"law|legal|required|requirement|regulations?|leaflet|information|info|advice about)\b"
)
# A sounding alarm put down to its battery or its test button: the low-battery chirp, not carbon monoxide...
# (A detector at the end of its life chirps or beeps now and then to be replaced, the same warning.)
_BATTERY = re.compile(r"\b(?:batter(?:y|ys|ies)|low batt\w*|chirp\w*|test button|pressed the test|testing it|"
                      r"end of (?:its |their )?(?:working )?life|expired)\b")
# ...unless the resident says it carries on regardless.
_STILL = re.compile(r"\b(?:still|even (?:with|after|though)|anyway|again)\b")
# An alarm that did not go off is no sign of carbon monoxide.
_NOT_SOUNDING_AFTER = re.compile(
    r"^\s*(?:is |has |was |did |does |have )?(?:not|isnt|hasnt|wasnt|didnt|doesnt|never|havent) "
    r"(?:\w+ )?(?:go\w*|gone|went|sound\w*|beep\w*|ring\w*|alarm\w*|activat\w*|trigger\w*)"
)
# A leak the gas emergency service or an engineer has already dealt with.
_DEALT_WITH = re.compile(
    r"\b(?:fixed|repaired|sorted|capped|made (?:it |the \w+ )?safe|isolated|disconnected|cut off by|"
    r"turned off by (?:cadent|the engineer|the gas board|national gas))\b"
)
_AGAIN = re.compile(r"\b(?:again|still)\b")


@dataclass(frozen=True)
class _Sign:
    hazard: str
    pattern: re.Pattern[str]
    alarm: bool = False  # a carbon monoxide alarm or detector, or carbon monoxide named
    flames: bool = False


def _signs() -> tuple[_Sign, ...]:
    return (
        tuple(_Sign(CARBON_MONOXIDE, re.compile(p), alarm=True) for p in _CO_ALARM_SIGNS)
        + tuple(_Sign(CARBON_MONOXIDE, re.compile(p), flames="flame" in p) for p in _CO_OTHER_SIGNS)
        + tuple(_Sign(GAS, re.compile(p)) for p in _GAS_SIGNS)
    )


_SIGNS = _signs()


def normalise(text: str) -> str:
    """Lower-case, drop apostrophes, squeeze spaces (newlines are kept as sentence breaks)."""
    return _SPACES.sub(" ", (text or "").lower().translate(_APOSTROPHES)).strip()


def _clause_start(text: str, pos: int) -> int:
    start = 0
    for brk in _CLAUSE_BREAK.finditer(text, 0, pos):
        start = brk.end()
    return start


def _clause_end(text: str, pos: int) -> int:
    brk = _CLAUSE_BREAK.search(text, pos)
    return brk.start() if brk else len(text)


def _sentence_bounds(text: str, match: re.Match[str]) -> tuple[int, int]:
    start = 0
    for brk in _SENTENCE_BREAK.finditer(text, 0, match.start()):
        start = brk.end()
    end = _SENTENCE_BREAK.search(text, match.end())
    return start, end.start() if end else len(text)


def _sentence(text: str, match: re.Match[str]) -> str:
    start, end = _sentence_bounds(text, match)
    return text[start:end]


def _negated(text: str, match: re.Match[str], hazard: str) -> bool:
    return _negation_before(text, match.start(), smell_counts=hazard != CARBON_MONOXIDE)


def _negation_before(text: str, pos: int, *, smell_counts: bool = True) -> bool:
    """A negation word in the few words before `pos`, in its clause."""
    before = _WORD.findall(text[_clause_start(text, pos) : pos])
    window = before[-NEGATION_WINDOW:]
    for i, word in enumerate(window):
        if word not in NEGATION_WORDS:
            continue
        following = window[i + 1 :]
        if following and following[0] in _NOT_A_NEGATION_BEFORE:
            continue
        if not smell_counts and any(w in _SMELL_WORDS for w in following):
            continue
        return True
    return False


def _alarm_only_talked_about(text: str, match: re.Match[str]) -> bool:
    clause = text[_clause_start(text, match.start()) : _clause_end(text, match.end())]
    if _NOT_SOUNDING_AFTER.search(text[match.end() : _clause_end(text, match.end())]):
        return True
    start, end = _sentence_bounds(text, match)
    # "its not the battery beep, its the proper alarm" puts it down to something else.
    battery = any(not _negation_before(text, b.start()) for b in _BATTERY.finditer(text, start, end))
    if battery and not _STILL.search(text, start, end):
        return True
    return not _SOUNDING.search(clause) and bool(_DEVICE_TALK.search(clause))


def _already_dealt_with(text: str, match: re.Match[str]) -> bool:
    """'the gas leak was capped yesterday', 'smelt gas last week, the engineer fixed it'."""
    clause_start = _clause_start(text, match.start())
    if _AGAIN.search(text[clause_start : _clause_end(text, match.end())]):
        return False
    # Its own clause and what follows in the sentence; an earlier clause may be about an earlier leak.
    _, sentence_end = _sentence_bounds(text, match)
    return bool(_DEALT_WITH.search(text, clause_start, max(sentence_end, clause_start)))


def _counts(text: str, sign: _Sign, match: re.Match[str]) -> bool:
    if _negated(text, match, sign.hazard):
        return False
    if sign.alarm and _alarm_only_talked_about(text, match):
        return False
    if sign.flames and _NOT_FLAMES_OF_GAS.search(_sentence(text, match)):
        return False
    return not (sign.hazard == GAS and _already_dealt_with(text, match))


def gas_hazards(text: str) -> frozenset[str]:
    """The hazards the message describes: a subset of {"gas", "carbon_monoxide"}."""
    normal = normalise(text)
    if not normal:
        return frozenset()
    found: set[str] = set()
    for sign in _SIGNS:
        if sign.hazard in found:
            continue
        if any(_counts(normal, sign, m) for m in sign.pattern.finditer(normal)):
            found.add(sign.hazard)
    return frozenset(found)


def gas_made_safe(text: str) -> bool:
    """The message says a gas leak has been dealt with ("capped", "made safe", "isolated"...) after every sign
    of gas in it, and nothing after that says it is back ("again", "still"): 'I smelt gas this morning. Cadent
    came and capped the pipe.' `gas_hazards` reads each sign with its own sentence, so the safety advice still
    comes first for such a message (a false alarm costs a paragraph); this says what the whole message makes of
    it, for the priority. Carbon monoxide is never dealt with this way: it has no smell to go away."""
    normal = normalise(text)
    dealt = [m for m in _DEALT_WITH.finditer(normal) if not _negation_before(normal, m.start())]
    if not dealt or _AGAIN.search(normal, dealt[-1].end()):
        return False
    last = dealt[-1].start()
    for sign in _SIGNS:
        for match in sign.pattern.finditer(normal):
            if sign.hazard == CARBON_MONOXIDE and _counts(normal, sign, match):
                return False
            if sign.hazard == GAS and match.start() > last and _counts(normal, sign, match):
                return False
    return True


def gas_denied(text: str) -> bool:
    """The message names a smell or leak of gas only to deny it ("no smell of gas", "I can't smell any gas"):
    a gas sign is there and none of them counts. A learned reading of the same words sees "gas" and not "no"."""
    normal = normalise(text)
    seen = False
    for sign in _SIGNS:
        if sign.hazard != GAS:
            continue
        for match in sign.pattern.finditer(normal):
            if _counts(normal, sign, match):
                return False
            seen = seen or _negated(normal, match, sign.hazard)
    return seen


# The words a smell or an escape of gas is told with, counted or not: a smell, a stink, a leak, hissing, fumes,
# rotten eggs. A learned reading that holds a gas leak without any of them has read "gas" in an appliance's fault
# ("the gas cooker is playing up"), not a leak.
_GAS_WORDS = re.compile(r"\b(?:smel\w*|stink\w*|pong\w*|reek\w*|whiff\w*|odou?r\w*|leak\w*|leek\w*|escap\w*|"
                        r"seep\w*|hiss\w*|fumes?|sul(?:ph|f)ur\w*|rotten|(?:coming|pouring|gushing) out|in the air)\b")


def gas_words(text: str) -> bool:
    """Does the message tell of gas escaping in any of the words this detector reads for it (negated or not)?"""
    return _GAS_WORDS.search(normalise(text)) is not None


_NAMED_APPLIANCE = re.compile(r"\b" + _APPLIANCE + r"\b|\b(?:meter|ring|burner|pilot light)s?\b")


def names_gas_appliance(text: str) -> bool:
    """Does the message name an appliance or fitting whose own fault it may be telling (a cooker, a hob's ring,
    a boiler, a meter), rather than gas itself?"""
    return _NAMED_APPLIANCE.search(normalise(text)) is not None


def gas_hazard(text: str) -> str | None:
    """The hazard whose safety advice comes first ("carbon_monoxide", then "gas"), or None."""
    found = gas_hazards(text)
    return next((h for h in HAZARDS if h in found), None)


def mentions_gas(text: str) -> bool:
    """A smell or leak of gas, or carbon monoxide: the resident gets the gas safety advice at once."""
    return bool(gas_hazards(text))
