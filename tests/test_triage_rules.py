"""How a parsed message becomes the triage contract's answer (the Rasa side is tested end to end elsewhere)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from repairs.policy.loader import load_policy
from repairs.triage.intents import CONTRACT_INTENTS, contract_intent
from repairs.triage.rasa_client import Parse
from repairs.triage.service import triage

WINTER = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy():
    return load_policy(Path(__file__).resolve().parent.parent / "data")


def parse(intent: str, confidence: float = 0.9, ranking: list[tuple[str, float]] | None = None) -> Parse:
    return Parse(intent=intent, confidence=confidence, ranking=ranking or [(intent, confidence)], entities=[])


@pytest.mark.parametrize("internal", ["repair_plumbing", "repair_other", "reopen_repair", "greet", "bot_challenge",
                                      "affirm", "inform", "nlu_fallback", "something_new"])
def test_every_internal_intent_maps_onto_the_contract(internal):
    assert contract_intent(internal) in CONTRACT_INTENTS


def test_a_repair_gets_category_priority_and_no_advice_when_routine(policy):
    result = triage(parse("repair_plumbing"), "the kitchen tap drips", policy, now=WINTER)
    assert (result.intent, result.category, result.priority, result.emergency, result.advice) == (
        "report_repair", "plumbing", "routine", False, None)


def test_gas_smell_is_an_emergency_with_the_number_even_if_misread(policy):
    misread = triage(parse("check_status", 0.4), "i can smell gas in the hallway", policy, now=WINTER)
    assert misread.intent == "report_repair" and misread.category == "gas" and misread.emergency
    assert "0800 111 999" in (misread.advice or "")


def test_gas_appliance_fault_is_not_an_emergency(policy):
    result = triage(parse("repair_gas"), "gas hob igniter clicks but wont light", policy, now=WINTER)
    assert result.category == "gas" and result.priority == "urgent" and not result.emergency


def test_no_heating_with_a_baby_in_winter_is_an_emergency(policy):
    result = triage(parse("repair_heating"), "boiler's packed up and we have a 3 week old baby", policy, now=WINTER)
    assert result.emergency and result.priority == "emergency" and result.advice
    plain = triage(parse("repair_heating"), "boiler's packed up", policy, now=WINTER)
    assert not plain.emergency and plain.priority == "urgent"


def test_non_repairs_carry_no_category_or_priority(policy):
    result = triage(parse("thank", 0.97), "cheers", policy, now=WINTER)
    assert (result.intent, result.category, result.priority, result.emergency) == ("thank", None, None, False)


def test_fallback_takes_the_best_real_guess_with_its_confidence(policy):
    result = triage(parse("nlu_fallback", 0.3, [("nlu_fallback", 0.3), ("check_status", 0.28)]), "any news",
                    policy, now=WINTER)
    assert result.intent == "check_status" and result.confidence == pytest.approx(0.28)


def test_not_fixed_is_a_repair_in_its_likeliest_category(policy):
    result = triage(parse("reopen_repair", 0.8, [("reopen_repair", 0.8), ("repair_plumbing", 0.1)]),
                    "the leak is still not fixed", policy, now=WINTER)
    assert result.intent == "report_repair" and result.category == "plumbing"


def test_triage_api_needs_a_token_and_says_when_rasa_is_down(client, factory):
    assert client.post("/api/v1/triage", json={"text": "leak"}).status_code == 401
    officer = factory.officer()
    # No Rasa server is listening on the test settings' address: a clear 503, never a 500.
    r = client.post("/api/v1/triage", headers=officer.headers, json={"text": "my tap is leaking"})
    assert r.status_code == 503 and r.json()["code"] == "nlu_unavailable"
    assert client.post("/api/v1/triage", headers=officer.headers, json={"text": ""}).status_code == 422


def test_assess_gives_the_policy_verdict_without_verification(client, service_headers):
    flood = client.post("/api/v1/assess", headers=service_headers,
                        json={"category": "plumbing", "text": "water pouring through my ceiling"})
    assert flood.status_code == 200 and flood.json()["emergency"] is True and flood.json()["advice"]
    drip = client.post("/api/v1/assess", headers=service_headers,
                       json={"category": "plumbing", "text": "the tap drips a bit"}).json()
    assert drip == {"priority": "routine", "emergency": False, "advice": None,
                    "facts": None, "question": None, "rule": None}  # no facts sent: the phrase rules decided
    assert client.post("/api/v1/assess", headers=service_headers,
                       json={"category": "nope", "text": "x"}).status_code == 422
    assert client.post("/api/v1/assess", json={"category": "gas", "text": "x"}).status_code == 401


def test_learned_emergency_signal_raises_a_report_the_phrases_miss(policy):
    words = "somebody forced the front door and the frame is split"
    assert not triage(parse("repair_doors_windows"), words, policy, now=WINTER).emergency
    signalled = Parse(intent="repair_doors_windows", confidence=0.9, ranking=[("repair_doors_windows", 0.9)],
                      entities=[], emergency="security")
    result = triage(signalled, words, policy, now=WINTER)
    assert result.emergency and result.priority == "emergency"
    assert "secure" in (result.advice or "")  # the advice for its kind, not the generic text


def test_learned_signal_never_lowers_and_unknown_kinds_are_ignored(policy):
    flood = Parse(intent="repair_plumbing", confidence=0.9, ranking=[("repair_plumbing", 0.9)], entities=[],
                  emergency=None)
    assert triage(flood, "water pouring through my ceiling", policy, now=WINTER).emergency
    odd = Parse(intent="repair_plumbing", confidence=0.9, ranking=[("repair_plumbing", 0.9)], entities=[],
                emergency="made_up_kind")
    assert not triage(odd, "the kitchen tap drips", policy, now=WINTER).emergency


def test_assess_takes_the_assistants_emergency_signal(client, service_headers):
    body = {"category": "electrical", "text": "the power's gone in the whole flat"}
    assert client.post("/api/v1/assess", headers=service_headers, json=body).json()["emergency"] is False
    signalled = client.post("/api/v1/assess", headers=service_headers,
                            json={**body, "emergency_signal": "power_loss"}).json()
    assert signalled["emergency"] is True and "105" in signalled["advice"]
    too_long = client.post("/api/v1/assess", headers=service_headers, json={**body, "emergency_signal": "x" * 41})
    assert too_long.status_code == 422


def test_learned_signal_is_ignored_when_the_words_say_it_is_over(policy):
    over = Parse(intent="repair_lifts", confidence=0.9, ranking=[("repair_lifts", 0.9)], entities=[],
                 emergency="lift")
    text = "got stuck in the lift last night, the caretaker got me out, it still jerks between floors"
    assert not triage(over, text, policy, now=WINTER).emergency
    assert triage(over, "lift stopped between floors with my dad inside", policy, now=WINTER).emergency
