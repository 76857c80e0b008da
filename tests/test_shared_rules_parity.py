"""One source of rules for both Python environments (packages/repairs_common).

The same tables go through the assistant's actions, imported in Rasa's own Python 3.10 (a `.venv-rasa`
subprocess, as the action server runs them), and through the repairs service's own code paths in this 3.11
process: the policy behind `POST /api/v1/assess`, the verify endpoint's schema, the `X-Resident-Channel`
parser, the policy's categories. Each side must give the answer in the table, so they cannot drift apart.
The last tests check that no source directory (actions/, repairs/, bot/, Rasa's) keeps a copy of a rule of its own.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from repairs_common import channels, gas, postcodes, taxonomy, tenancy_references

from bot.telegram.conversation import sender_for as telegram_sender
from bot.webchat.routes import sender_for as web_sender
from bot.webchat.signing import new_session_id
from repairs.auth.dependencies import parse_channel_identity
from repairs.policy.engine import Policy
from repairs.policy.loader import load_policy
from repairs.problems import Problem
from repairs.residents.routes import VerifyBody

ROOT = Path(__file__).resolve().parent.parent
RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"
SUMMER = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
CO, GAS = gas.CARBON_MONOXIDE, gas.GAS

# (what a resident writes, the hazard whose advice comes first or None). Written for this test.
GAS_CASES: list[tuple[str, str | None]] = [
    # The two the actions' old copy missed (issue 11, item 6).
    ("No heating and gas smell in the kitchen", GAS),
    ("I can't smell anything but my CO alarm keeps going off", CO),
    # A smell or a leak of gas, however it is put.
    ("there is a smell of gas on the stairs", GAS),
    ("i can smell gas when i open the front door", GAS),
    ("Kitchen smells of gas!!", GAS),
    ("we smelt gas in the hallway this morning", GAS),
    ("my son says the bathroom smells gassy", GAS),
    ("a strong gassy smell near the meter", GAS),
    ("GAS LEAK IN FLAT 4", GAS),
    ("i think the hob is leaking gas", GAS),
    ("gas is escaping from the pipe behind the cooker", GAS),
    ("possible escape of gas in the basement", GAS),
    ("the landing reeks of gas", GAS),
    ("theres a whiff of gas every time the boiler fires", GAS),
    ("hissing noise from the gas pipe by the meter", GAS),
    ("the meter cupboard is hissing loudly", GAS),
    ("smells like rotten eggs in the kitchen", GAS),
    ("horrible sulphur smell coming from the cooker", GAS),
    ("funny smell, could be gas?", GAS),
    ("i smel gas", GAS),
    ("gass leek by the boiler", GAS),
    ("The cooker won't turn off properly, and I can smell gas", GAS),
    ("no hot water since yesterday and now a gas smell in the airing cupboard", GAS),
    ("not sure what it is but the flat smells of gas", GAS),
    ("the leak was capped last month but I can smell gas again", GAS),
    ("smelt gas earlier, not sure if it's still there", GAS),
    # Carbon monoxide: the alarm, the poisoning, the signs beside a gas appliance.
    ("carbon monoxide alarm going off in the hall", CO),
    ("CO alarm keeps beeping and won't stop", CO),
    ("the co detector has gone off twice tonight", CO),
    ("My carbon monoxide detector is sounding", CO),
    ("co2 alarm screaming in the kitchen", CO),
    ("I think we have carbon monoxide poisoning", CO),
    ("carbon monoxide!!", CO),
    ("there's no smell at all yet the CO alarm is going off", CO),
    ("CO alarm went off, I put a new battery in and it's still going", CO),
    ("the carbon monoxide detector is blaring, and no, it isn't the battery warning", CO),
    ("we all get headaches whenever the gas fire is on", CO),
    ("I feel dizzy and sick when the boiler is running", CO),
    ("the flames on the hob burn yellow instead of blue", CO),
    ("black sooty marks around the gas fire", CO),
    ("fumes coming out of the boiler flue into my bedroom", CO),
    # Both at once: carbon monoxide's advice (get out into fresh air) comes first.
    ("smell of gas and the carbon monoxide alarm is beeping", CO),
    # Look-alikes: gas named, no leak or alarm.
    ("no smell of gas", None),
    ("there's definitely no gas smell, the boiler just shows an error", None),
    ("I can't smell gas any more", None),
    ("my gas bill is far too high this quarter", None),
    ("who do I ask about the gas bill", None),
    ("the gas engineer is coming tomorrow for the service", None),
    ("when is my annual gas safety check", None),
    ("the gas hob igniter clicks but will not light", None),
    ("gas fire won't stay lit", None),
    ("gas cooker door hinge is broken", None),
    ("need the gas meter moving for the new kitchen", None),
    ("the gas leak was made safe by the emergency service, now the cooker needs reconnecting", None),
    ("smelly bins and the gas meter cupboard door is hanging off", None),
    ("the boiler is making a hissing noise", None),
    ("hissing from the radiator valve in the bedroom", None),
    ("the washing machine gasket is leaking", None),
    ("the drains smell awful", None),
    ("burning smell from the socket in the lounge", None),
    # Look-alikes: a carbon monoxide alarm talked about, not going off.
    ("CO alarm needs a new battery", None),
    ("my CO alarm is beeping, I think it just needs a new battery", None),
    ("the CO detector chirps once a minute, the battery's low", None),
    ("carbon monoxide alarm keeps chirping", None),
    ("can you fit a carbon monoxide alarm in my flat", None),
    ("I don't have a carbon monoxide detector, can you fit one", None),
    ("no co alarm sounding, just the smoke alarm chirping", None),
    ("the co detector has expired", None),
    ("the CO alarm beeps twice every thirty seconds, the leaflet says that is the end of its life", None),
    ("the carbon monoxide alarm is beeping now and then, it has expired and needs replacing", None),
    ("the CO alarm fell off the wall", None),
    ("the CO alarm didn't go off when I pressed the test button", None),
    ("the engineer checked the carbon monoxide alarm last week", None),
    ("my smoke alarm keeps beeping", None),
    ("orange flames coming out of the socket", None),
    ("my son has a headache and the bedroom ceiling is leaking", None),
]

# (typed as the answer to "what is your tenancy reference?", what the actions send, whole answer a reference?)
REFERENCE_ANSWERS: list[tuple[str, str | None]] = [
    ("T-100001", "T-100001"),
    ("t-100001", "T-100001"),
    ("T100001", "T-100001"),
    ("t 100001", "T-100001"),
    ("  T-100001  ", "T-100001"),
    ("T\u2013100001", "T-100001"),  # a phone's en dash
    ("my reference is T-100001 thanks", "T-100001"),
    ("T-10001", None),
    ("T-1000011", None),
    ("100001", None),
    ("TT-100001", None),
    ("HR-C6H2PA", None),
    ("", None),
]
POSTCODE_ANSWERS: list[tuple[str, str | None]] = [
    ("NW1 8YL", "NW1 8YL"),
    ("nw18yl", "NW1 8YL"),
    ("NW1  8YL", "NW1 8YL"),
    (" e1 6an ", "E1 6AN"),
    ("SW1A 1AA", "SW1A 1AA"),
    ("n1c4ag", "N1C 4AG"),
    ("it's NW1 8YL", "NW1 8YL"),
    ("NW1", None),
    ("8YL", None),
    ("NW1 8Y", None),
    ("12345", None),
    ("HR-C6H2PA", None),  # a repair reference's tail is no postcode
    ("", None),
]
# (Rasa sender id, the chat the actions act for)
SENDERS: list[tuple[str, str]] = [
    ("telegram:123456789", "telegram:123456789"),
    ("web:Zx-9_aQ3", "web:Zx-9_aQ3"),
    ("whatsapp:+447700900123", "whatsapp:+447700900123"),
    ("sms:+447700900123", "sms:+447700900123"),
    ("web:a:b", "web:a:b"),
    ("web:" + "x" * 128, "web:" + "x" * 128),
    ("default", "web:default"),
    ("telegram:", "web:telegram:"),
    ("telegram:12 34", "web:telegram:12_34"),
    ("signal:123", "web:signal:123"),
    ("telegram:caf\u00e9", "web:telegram:caf_"),
    ("web:" + "y" * 129, "web:web:" + "y" * 116),
]

ACTIONS_SIDE = r"""
import json, sys
from rasa_sdk import Tracker
from actions import reporting
from actions.excerpt import LEFT_OUT, report_excerpt
from actions.identity import resident_channel, split_channel
from actions.safety import mentions_gas
from actions.texts import BUTTON_LABELS, CATEGORY_NAMES
from actions.verification import find_postcode, find_tenancy_reference

cases = json.load(sys.stdin)

def chat(sender):
    return resident_channel(Tracker(sender, {}, {}, [], False, None, {}, None))

def left_out(text):
    return report_excerpt([{"event": "user", "text": text}])[0]["text"] == LEFT_OUT

json.dump({
    "python": list(sys.version_info[:2]),
    "gas": [mentions_gas(t) for t in cases["gas"]],
    "references": [find_tenancy_reference(t) for t in cases["references"]],
    "postcodes": [find_postcode(t) for t in cases["postcodes"]],
    "senders": [chat(s) for s in cases["senders"]],
    "split": [list(split_channel(chat(s))) for s in cases["senders"]],
    "left_out": [left_out(t) for t in cases["references"] + cases["postcodes"] if t.strip()],
    "category_names": list(CATEGORY_NAMES),
    "button_labels": list(BUTTON_LABELS),
    "communal": sorted(reporting.COMMUNAL_CATEGORIES),
    "gas_signals": sorted(reporting.GAS_SIGNALS),
}, sys.stdout)
"""


@pytest.fixture(scope="module")
def actions_side() -> dict[str, Any]:
    """The actions' answers to every table, from the Rasa environment's Python."""
    assert RASA_PY.exists(), "the Rasa environment is missing: run make test (it installs it)"
    cases = {
        "gas": [text for text, _ in GAS_CASES],
        "references": [text for text, _ in REFERENCE_ANSWERS],
        "postcodes": [text for text, _ in POSTCODE_ANSWERS],
        "senders": [sender for sender, _ in SENDERS],
    }
    done = subprocess.run(
        [str(RASA_PY), "-c", ACTIONS_SIDE], input=json.dumps(cases), capture_output=True, text=True,
        cwd=ROOT, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answers: dict[str, Any] = json.loads(done.stdout)
    return answers


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(ROOT / "data", out_of_hours_phone="020 7000 0000")


def test_the_actions_side_ran_in_rasas_python_310(actions_side: dict[str, Any]) -> None:
    assert actions_side["python"] == [3, 10]


# -- gas and carbon monoxide --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "hazard"), GAS_CASES)
def test_the_detector_reads_each_case(text: str, hazard: str | None) -> None:
    assert gas.gas_hazard(text) == hazard
    assert gas.mentions_gas(text) is (hazard is not None)


@pytest.mark.parametrize(("text", "hazard"), GAS_CASES)
def test_the_service_policy_calls_gas_and_carbon_monoxide_from_the_same_detector(
    policy: Policy, text: str, hazard: str | None
) -> None:
    for category in ("other", "heating", "gas"):
        a = policy.assess(category, text, vulnerable=False, tenure=None, at=SUMMER)
        fired = [r for r in a.reasons if r in ("rule:gas", "rule:carbon_monoxide")]
        if hazard is None:
            assert not fired, (category, a.reasons)
        else:
            assert a.emergency and f"rule:{hazard}" in fired and a.advice_key == hazard, (category, a.reasons)
            assert a.advice is not None and "0800 111 999" in a.advice


def test_gas_parity_between_the_actions_and_the_service_api(
    actions_side: dict[str, Any], client: Any, ctx: Any, service_headers: dict[str, str]
) -> None:
    """The actions' offline check says gas exactly when `POST /api/v1/assess` (which the actions call next)
    gives the gas or carbon monoxide advice."""
    gas_advice = {ctx.policy.advice(GAS): GAS, ctx.policy.advice(CO): CO}
    disagreements = []
    for (text, hazard), offline in zip(GAS_CASES, actions_side["gas"], strict=True):
        r = client.post("/api/v1/assess", headers=service_headers, json={"category": "other", "text": text})
        assert r.status_code == 200, r.text
        service = gas_advice.get(r.json()["advice"])
        if offline is not (hazard is not None) or service != hazard:
            disagreements.append((text, hazard, offline, service))
    assert not disagreements


def test_the_emergency_classifiers_gas_kinds_are_the_detectors(actions_side: dict[str, Any], policy: Policy) -> None:
    # The assistant's learned signal names a hazard by the service's advice key; the gas ones are the detector's.
    assert actions_side["gas_signals"] == sorted(gas.HAZARDS)
    assert {r.detector for r in policy.config.emergency_rules if r.detector} == set(gas.HAZARDS)
    assert all(key in policy.config.advice for key in gas.HAZARDS)


# -- tenancy references and postcodes -----------------------------------------------------------------------


def _verify_body(reference: str = "T-100001", postcode: str = "NW1 8YL") -> VerifyBody | None:
    try:
        return VerifyBody(tenancy_reference=reference, postcode=postcode, channel="web", channel_user_id="abc")
    except ValidationError:
        return None


@pytest.mark.parametrize(("typed", "sent"), REFERENCE_ANSWERS)
def test_tenancy_reference_read_alike(actions_side: dict[str, Any], typed: str, sent: str | None) -> None:
    i = [t for t, _ in REFERENCE_ANSWERS].index(typed)
    assert actions_side["references"][i] == sent == tenancy_references.find_tenancy_reference(typed)
    # What the actions send, the verify endpoint takes and compares unchanged...
    if sent is not None:
        body = _verify_body(reference=sent)
        assert body is not None and body.tenancy_reference == sent
    # ...and a whole answer the endpoint takes is what the actions would have found in it.
    whole = _verify_body(reference=typed)
    if whole is not None:
        assert whole.tenancy_reference == sent


@pytest.mark.parametrize(("typed", "sent"), POSTCODE_ANSWERS)
def test_postcode_read_alike(actions_side: dict[str, Any], typed: str, sent: str | None) -> None:
    i = [t for t, _ in POSTCODE_ANSWERS].index(typed)
    assert actions_side["postcodes"][i] == sent == postcodes.find_postcode(typed)
    if sent is not None:
        body = _verify_body(postcode=sent)
        assert body is not None and body.postcode == sent
    whole = _verify_body(postcode=typed)
    if whole is not None:
        assert whole.postcode == sent


def test_a_loosely_typed_answer_verifies_through_the_api(client: Any, factory: Any,
                                                          service_headers: dict[str, str]) -> None:
    res = factory.resident(linked=False, postcode="NW5 2TX")
    digits = res.tenancy_reference.split("-")[1]
    body = {"tenancy_reference": f"t {digits}", "postcode": "nw52tx", "channel": "web", "channel_user_id": "p1"}
    assert client.post("/api/v1/residents/verify", headers=service_headers, json=body).status_code == 200
    # A malformed answer is a clear 422 saying what shape is wanted, not "details not matched".
    r = client.post("/api/v1/residents/verify", headers=service_headers,
                    json={**body, "tenancy_reference": "TEN/55", "channel_user_id": "p2"})
    assert r.status_code == 422 and "T followed by six numbers" in r.text and "TEN/55" not in r.text


def test_the_excerpt_leaves_out_exactly_what_the_identity_check_reads(actions_side: dict[str, Any]) -> None:
    typed = [t for t, _ in REFERENCE_ANSWERS + POSTCODE_ANSWERS if t.strip()]
    expected = [bool(tenancy_references.find_tenancy_reference(t) or postcodes.find_postcode(t)) for t in typed]
    assert actions_side["left_out"] == expected
    assert not actions_side["left_out"][typed.index("HR-C6H2PA")]  # an officer needs the repair's reference


def _nlu_regex(name: str) -> re.Pattern[str]:
    data = yaml.safe_load((ROOT / "nlu" / "regexes.yml").read_text(encoding="utf-8"))
    entry = next(e for e in data["nlu"] if e.get("regex") == name)
    return re.compile(entry["examples"].strip().removeprefix("- "))


@pytest.mark.parametrize(
    ("entity", "read"),
    [("tenancy_ref", tenancy_references.normalise_tenancy_reference), ("postcode", postcodes.normalise_postcode)],
)
def test_what_the_nlu_extracts_the_shared_rule_reads(entity: str, read: Any) -> None:
    pattern = _nlu_regex(entity)
    tokens = [t.strip() for t, _ in REFERENCE_ANSWERS + POSTCODE_ANSWERS]
    extracted = [t for t in tokens if pattern.fullmatch(t)]
    assert extracted  # the table exercises the regex
    assert all(read(t) is not None for t in extracted), extracted


# -- channel identities --------------------------------------------------------------------------------------


def _service_reads(header: str) -> str | None:
    try:
        channel, external_id = parse_channel_identity(header)
    except Problem:
        return None
    return f"{channel}:{external_id}"


@pytest.mark.parametrize(("sender", "chat"), SENDERS)
def test_a_sender_is_the_same_chat_on_both_sides(actions_side: dict[str, Any], sender: str, chat: str) -> None:
    i = [s for s, _ in SENDERS].index(sender)
    assert actions_side["senders"][i] == chat == channels.identity_for_sender(sender)
    # The service takes every chat the actions name, as it is...
    assert _service_reads(chat) == chat
    assert actions_side["split"][i] == list(chat.split(":", 1))
    # ...and takes a sender as it is exactly when the actions keep it as it is.
    assert (_service_reads(sender) == sender) is (chat == sender)


def test_the_bots_senders_are_chats_the_service_takes() -> None:
    for sender in (telegram_sender(123456789), telegram_sender(-1001234567890), web_sender(new_session_id())):
        assert _service_reads(sender) == sender == channels.identity_for_sender(sender)
    with pytest.raises(channels.ChannelIdentityError):
        web_sender("not allowed")


def test_the_service_refuses_a_chat_the_grammar_refuses(client: Any, service_headers: dict[str, str]) -> None:
    for header, status in (("web:nobody-yet", 403), ("web:no body", 400), ("signal:1", 400), ("telegram", 400)):
        r = client.get("/api/v1/residents/me", headers={**service_headers, "X-Resident-Channel": header})
        assert r.status_code == status, (header, r.text)


# -- the taxonomy --------------------------------------------------------------------------------------------


def test_both_sides_know_the_same_categories(actions_side: dict[str, Any], policy: Policy) -> None:
    codes = list(taxonomy.CATEGORY_CODES)
    assert list(policy.categories) == codes
    assert actions_side["category_names"] == codes and actions_side["button_labels"] == codes
    communal = sorted(c.code for c in policy.categories.values() if c.communal)
    assert actions_side["communal"] == communal == sorted(taxonomy.COMMUNAL_CATEGORIES)


def test_the_assistant_has_one_repair_intent_per_category() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    repair_intents = {i for i in domain["intents"] if isinstance(i, str) and i.startswith("repair_")}
    assert repair_intents == {taxonomy.repair_intent(c) for c in taxonomy.CATEGORY_CODES}


def test_the_codes_are_the_triage_contracts() -> None:
    # CONTRACTS.md: the triage API's `category` and Open311's service codes, in this order.
    assert taxonomy.CATEGORY_CODES == (
        "plumbing", "heating", "electrical", "gas", "damp_mould", "roofing", "doors_windows", "fittings",
        "walls_floors", "pests", "lifts", "communal", "external", "fire_safety", "other",
    )


# -- no copies left ------------------------------------------------------------------------------------------

CODE = "(?:" + "|".join(taxonomy.CATEGORY_CODES) + ")"
# What a private copy of each rule looked like before it moved to packages/repairs_common.
COPIES = {
    "tenancy reference regex": re.compile(r"T\[-|\\d\{6\}|\[0-9\]\{6\}"),
    "postcode regex": re.compile(r"\[A-Z\]\{1,2\}"),
    "sender split by hand": re.compile(r"\b(?:sender\w*|identity)\.(?:split|partition)\(\s*[\"']:[\"']"),
    "channel list": re.compile(
        r"telegram\||[(\[{]\s*[\"']telegram[\"'],\s*[\"']web[\"'],\s*[\"'](?:whatsapp|sms)|Literal\[\s*[\"']telegram"
    ),
    "gas or carbon monoxide pattern": re.compile(r"\br[\"'][^\"'\n]*\b(?:gas|monoxide|smel)", re.IGNORECASE),
    "category code list": re.compile(rf"[\"']{CODE}[\"'](?:,\s*[\"']{CODE}[\"']){{3}}"),  # four or more
    "repair intent prefix slicing": re.compile(r"\[7:\]|len\(\s*[\"']repair_[\"']\s*\)|[\"']repair_[\"']\s*$", re.M),
}


SOURCE_DIRS = ("actions", "repairs", "bot", "rasa_components", "rasa_channel", "action_server")


def _sources() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("rule", list(COPIES))
def test_no_private_copy_of_a_shared_rule(rule: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
        for path in _sources()
        for text in [path.read_text(encoding="utf-8")]
        for m in COPIES[rule].finditer(text)
    ]
    assert not found, f"{rule} kept outside packages/repairs_common: {found}"


def test_the_policy_file_carries_no_gas_phrases() -> None:
    data = yaml.safe_load((ROOT / "data" / "policy.yml").read_text(encoding="utf-8"))
    rules = {r["id"]: r for r in data["emergency_rules"]}
    for hazard in gas.HAZARDS:
        assert rules[hazard]["detector"] == hazard
        assert not {"patterns", "also_match", "exclude"} & set(rules[hazard])
    others = json.dumps([r for r in data["emergency_rules"] if r["id"] not in gas.HAZARDS])
    assert not re.search(r"monoxide|gas\+|\bsmel\+|rotten", others)
