"""The assistant asks the policy's question before it decides: the real action server (Rasa's Python 3.10) and
the real repairs service, each its own process, called as Rasa calls the action server (its /webhook, with the
action token), with the fact extractor's facts in the latest message as the parse carries them.

Rasa itself is not started: its model here has no fact extractor (that is built on its own branch), so the
turns give the tracker Rasa would send with the extractor's output in it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from evaluation.rasa_process import ROOT, free_port, managed_process, rasa_env, wait_until_ready
from tests.assistant_stack import action_server_command

# The demo seed (repairs/demo/seed.py) records a vulnerability for every sixth home from the first: T-100001
# has one on record, T-100002 (the second home, in Birch House) has none.
TENANT = ("T-100001", "NW1 8YL")
NOT_VULNERABLE_TENANT = ("T-100002", "NW1 8YN")
LEAK = {"affected": [{"code": "water_leak", "p": 0.93}], "location": {"value": "in_home", "p": 0.8}}
TOILET = {"affected": [{"code": "toilet", "p": 0.9}]}


@dataclass
class Services:
    repairs_url: str
    actions_url: str
    token: str
    action_token: str
    database_url: str
    domain: dict[str, Any]
    workdir: Path


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    workdir = tmp_path_factory.mktemp("fact-questions")
    token, action_token = "fact-token-" + "q" * 24, secrets.token_hex(32)
    database_url = f"sqlite:///{workdir / 'repairs.db'}"
    repairs_port, actions_port = free_port(), free_port()
    app_env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
    # The service refuses identity checks without its secret key (the throttles' keys are keyed with it).
    app_env.update({"REPAIRS_DATABASE_URL": database_url, "REPAIRS_API_TOKEN": token,
                    "REPAIRS_SECRET_KEY": secrets.token_hex(32),
                    "REPAIRS_PHOTO_DIR": str(workdir / "photos"), "REPAIRS_PORT": str(repairs_port)})
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([sys.executable, "-m", "repairs", *command], cwd=ROOT, env=app_env, check=True,
                       capture_output=True)
    actions_env = rasa_env()
    actions_env.update({"REPAIRS_API_URL": f"http://127.0.0.1:{repairs_port}", "REPAIRS_API_TOKEN": token,
                        "ACTION_SERVER_TOKEN": action_token, "ACTION_SERVER_PORT": str(actions_port)})
    with managed_process([sys.executable, "-m", "repairs", "serve"], app_env, workdir / "repairs.log") as repairs, \
            managed_process(action_server_command(), actions_env, workdir / "actions.log") as actions:
        repairs_url, actions_url = f"http://127.0.0.1:{repairs_port}", f"http://127.0.0.1:{actions_port}"
        wait_until_ready(repairs, lambda: httpx.get(f"{repairs_url}/healthz", timeout=2).status_code < 500,
                         "repairs service", 120)
        wait_until_ready(actions, lambda: httpx.get(f"{actions_url}/health", timeout=2).status_code < 500,
                         "action server", 120)
        domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
        yield Services(repairs_url, actions_url, token, action_token, database_url, domain, workdir)


@dataclass
class Chat:
    """One resident's chat, as the tracker Rasa keeps: slots carried from turn to turn."""

    services: Services
    sender: str = field(default_factory=lambda: f"telegram:{800000 + uuid.uuid4().int % 100000}")
    slots: dict[str, Any] = field(default_factory=dict)
    active_loop: str | None = None

    def verify(self, tenant: tuple[str, str] = TENANT) -> None:
        channel, user = self.sender.split(":")
        r = httpx.post(f"{self.services.repairs_url}/api/v1/residents/verify", timeout=10,
                       headers={"Authorization": f"Bearer {self.services.token}"},
                       json={"tenancy_reference": tenant[0], "postcode": tenant[1], "channel": channel,
                             "channel_user_id": user})
        assert r.status_code == 200, r.text

    def run(self, action: str, text: str, intent: str, *, entities: list[dict[str, Any]] | None = None,
            facts: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Run `action` after the resident's `text`; returns (responses, events) and applies the slots."""
        latest: dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.95},
                                  "intent_ranking": [{"name": intent, "confidence": 0.95}],
                                  "entities": entities or [], "message_id": uuid.uuid4().hex}
        if facts is not None:
            latest["facts"] = facts
        tracker = {"sender_id": self.sender, "slots": dict(self.slots), "latest_message": latest,
                   "events": [{"event": "user", "text": text, "parse_data": latest}], "paused": False,
                   "followup_action": None, "active_loop": {"name": self.active_loop} if self.active_loop else {},
                   "latest_action_name": "action_listen"}
        r = httpx.post(f"{self.services.actions_url}/webhook", timeout=60,
                       headers={"Authorization": f"Bearer {self.services.action_token}"},
                       json={"next_action": action, "sender_id": self.sender, "tracker": tracker,
                             "domain": self.services.domain, "version": "3.6.21"})
        assert r.status_code == 200, r.text
        body = r.json()
        for event in body["events"]:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
            elif event.get("event") == "active_loop":
                self.active_loop = event.get("name")
        return body["responses"], body["events"]


def ticket_row(services: Services, reference: str) -> dict[str, Any]:
    engine = sa.create_engine(services.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT priority, emergency, priority_rule, priority_path, facts, "
                                       "priority_reasons FROM tickets WHERE reference = :r"),
                               {"r": reference}).mappings().one()
            return dict(row)
    finally:
        engine.dispose()


def said(responses: list[dict[str, Any]]) -> str:
    return " ".join(str(r.get("text") or "") for r in responses)


def test_a_leak_not_said_to_be_contained_is_asked_about_and_spreading_is_logged_as_an_emergency(
    services: Services,
) -> None:
    chat = Chat(services)
    chat.verify()
    responses, _ = chat.run("action_start_report", "the pipe under my kitchen sink is leaking", "repair_plumbing",
                            facts=LEAK)
    [question] = [r for r in responses if r.get("buttons")]
    assert question["text"] == "Is the water contained, or is it spreading?"
    assert [(b["title"], b["payload"]) for b in question["buttons"]] == [
        ("Contained", '/inform{"fact_answer": "true"}'), ("Spreading", '/inform{"fact_answer": "false"}')]
    assert chat.slots["awaiting"] == "fact:contained" and chat.active_loop is None  # nothing decided yet
    assert chat.slots["facts"] == LEAK

    responses, _ = chat.run("action_handle_answer", '/inform{"fact_answer": "false"}', "inform",
                            entities=[{"entity": "fact_answer", "value": "false"}])
    words = said(responses)
    assert "emergency" in words and "stop tap" in words, words
    reference = chat.slots["last_ticket_ref"]
    row = ticket_row(services, reference)
    assert (row["priority"], row["priority_rule"], row["priority_path"]) == ("emergency", "uncontained_leak", "facts")
    assert '"contained": {"value": false, "p": 1.0}' in row["facts"]


def test_a_typed_no_to_the_only_toilet_question_carries_on_with_the_report_and_records_the_answer(
    services: Services,
) -> None:
    chat = Chat(services)
    chat.verify()
    responses, _ = chat.run("action_start_report", "the toilet is blocked and won't flush", "repair_plumbing",
                            facts=TOILET)
    assert "Is that the only toilet in your home?" in said(responses)
    responses, events = chat.run("action_handle_deny", "no", "deny")
    assert chat.active_loop == "report_form", events  # not an emergency: the usual questions follow
    assert chat.slots["fact_answers"] == {"only_toilet": False}
    assert "emergency" not in said(responses)

    # The form filled in, the report confirmed: the ticket carries the facts and the answer.
    chat.slots.update({"place": "bathroom", "access": "any weekday", "report_confirmed": True})
    responses, _ = chat.run("action_submit_report", "yes", "affirm")
    reference = chat.slots["last_ticket_ref"]
    row = ticket_row(services, reference)
    # Another toilet works: no rule makes it an emergency; the demo tenant is vulnerable on record, so the
    # routine plumbing repair is raised to urgent, and the record puts someone at risk in the facts.
    assert (row["priority"], row["emergency"], row["priority_rule"], row["priority_path"]) == (
        "urgent", False, None, "facts"), row
    assert "vulnerable_raise" in row["priority_reasons"]
    assert '"only_toilet": {"value": false, "p": 1.0}' in row["facts"]


def test_an_answer_that_is_not_an_option_asks_again(services: Services) -> None:
    chat = Chat(services)
    chat.verify()
    chat.run("action_start_report", "the toilet is blocked", "repair_plumbing", facts=TOILET)
    responses, _ = chat.run("action_handle_answer", '/inform{"fact_answer": "maybe"}', "inform",
                            entities=[{"entity": "fact_answer", "value": "maybe"}])
    assert "Is that the only toilet in your home?" in said(responses)
    assert chat.slots["awaiting"] == "fact:only_toilet" and not chat.slots.get("fact_answers")


def test_without_facts_nothing_is_asked_and_the_report_goes_on_as_before(services: Services) -> None:
    chat = Chat(services)
    chat.verify()
    responses, _ = chat.run("action_start_report", "the pipe under my kitchen sink is leaking", "repair_plumbing")
    assert not any(r.get("buttons") for r in responses) and chat.active_loop == "report_form"
    assert chat.slots.get("facts") is None


def test_gas_gets_its_safety_advice_first_and_never_a_question(services: Services) -> None:
    chat = Chat(services)
    chat.verify()
    responses, _ = chat.run("action_start_report", "i can smell gas and the boiler is off", "repair_gas",
                            facts={"affected": [{"code": "gas_leak", "p": 0.95}, {"code": "heating", "p": 0.8}]})
    assert responses[0].get("response") == "utter_gas_safety"
    assert not any(r.get("buttons") for r in responses)
    row = ticket_row(services, chat.slots["last_ticket_ref"])
    assert (row["priority"], row["priority_rule"], row["priority_path"]) == ("emergency", "gas", "detector")


def test_the_question_comes_before_verification_so_a_spreading_leak_gets_its_advice_at_once(
    services: Services,
) -> None:
    chat = Chat(services)  # not verified yet
    responses, _ = chat.run("action_start_report", "water is leaking from the pipe under the sink", "repair_plumbing",
                            facts=LEAK)
    assert [r["text"] for r in responses if r.get("buttons")] == ["Is the water contained, or is it spreading?"]
    responses, _ = chat.run("action_handle_answer", '/inform{"fact_answer": "false"}', "inform",
                            entities=[{"entity": "fact_answer", "value": "false"}])
    words = said(responses)
    assert "stop tap" in words and chat.slots["pending"] == "emergency", words

    # Verified, the emergency is logged with the facts and the answer.
    chat.verify()
    chat.run("action_after_verification", "NW1 8YL", "inform")
    row = ticket_row(services, chat.slots["last_ticket_ref"])
    assert (row["priority"], row["priority_rule"], row["priority_path"]) == ("emergency", "uncontained_leak", "facts")
    assert '"contained": {"value": false, "p": 1.0}' in row["facts"]


LIFT = {"affected": [{"code": "lift", "p": 0.92}], "location": {"value": "communal", "p": 0.9}}
RESTRICTOR = {"affected": [{"code": "fall_from_height", "p": 0.9}], "fixture": {"value": "window", "p": 1.0},
              "location": {"value": "in_home", "p": 0.9}}


def button_question(responses: list[dict[str, Any]]) -> str:
    [question] = [r for r in responses if r.get("buttons")]
    return str(question["text"])


def test_a_lift_out_asks_whether_anyone_is_stuck_then_about_the_stairs_and_calls_the_emergency(
    services: Services,
) -> None:
    chat = Chat(services)
    chat.verify()
    responses, _ = chat.run("action_start_report", "the lift in our block isn't working", "repair_lifts", facts=LIFT)
    assert button_question(responses) == "Is anyone stuck in the lift right now?"
    responses, _ = chat.run("action_handle_answer", '/inform{"fact_answer": "false"}', "inform",
                            entities=[{"entity": "fact_answer", "value": "false"}])
    # Nobody stuck: the answer that could still change the priority is the stairs.
    assert button_question(responses) == "Is someone unable to use the stairs because the lifts are out?"
    assert chat.slots["fact_answers"] == {"trapped": False}
    responses, _ = chat.run("action_handle_answer", '/inform{"fact_answer": "true"}', "inform",
                            entities=[{"entity": "fact_answer", "value": "true"}])
    words = said(responses)
    assert "emergency" in words and "lift engineer" in words, words
    row = ticket_row(services, chat.slots["last_ticket_ref"])
    assert (row["priority"], row["priority_rule"], row["priority_path"]) == (
        "emergency", "lifts_out_cannot_use_stairs", "facts")
    assert '"trapped": {"value": false, "p": 1.0}' in row["facts"]
    assert '"cannot_use_stairs": {"value": true, "p": 1.0}' in row["facts"]


def test_a_broken_window_restrictor_asks_the_floor_then_who_is_at_risk(services: Services) -> None:
    chat = Chat(services)
    chat.verify(NOT_VULNERABLE_TENANT)
    responses, _ = chat.run("action_start_report", "the window restrictor in the bedroom is broken",
                            "repair_doors_windows", facts=RESTRICTOR)
    assert button_question(responses) == (
        "Is it above the ground floor (an upstairs window, a balcony, a landing or stairs)?")
    responses, _ = chat.run("action_handle_answer", '/inform{"fact_answer": "upper"}', "inform",
                            entities=[{"entity": "fact_answer", "value": "upper"}])
    assert button_question(responses) == "Is anyone at home elderly, disabled, very young, pregnant or unwell?"
    responses, _ = chat.run("action_handle_answer", '/inform{"fact_answer": "true"}', "inform",
                            entities=[{"entity": "fact_answer", "value": "true"}])
    assert "emergency" in said(responses)
    row = ticket_row(services, chat.slots["last_ticket_ref"])
    assert (row["priority"], row["priority_rule"]) == ("emergency", "fall_from_height")


WINDOW = {"affected": [{"code": "insecure_entry", "p": 0.9}], "secure": {"value": False, "p": 1.0},
          "fixture": {"value": "window", "p": 1.0}, "location": {"value": "in_home", "p": 0.9}}


def test_a_window_that_will_not_shut_asks_the_floor_and_a_typed_yes_makes_the_ground_floor_an_emergency(
    services: Services,
) -> None:
    chat = Chat(services)
    chat.verify()
    responses, _ = chat.run("action_start_report", "bedroom window won't close, handle broken",
                            "repair_doors_windows", facts=WINDOW)
    # Not an emergency yet: an upstairs window that will not shut lets nobody in.
    assert button_question(responses) == "Is the window on the ground floor?"
    assert "emergency" not in said(responses)
    responses, _ = chat.run("action_handle_affirm", "yes", "affirm")
    assert chat.slots["fact_answers"] == {"floor": "ground"}
    assert "emergency" in said(responses)
    row = ticket_row(services, chat.slots["last_ticket_ref"])
    assert (row["priority"], row["priority_rule"]) == ("emergency", "insecure_ground_floor_window")


def test_a_typed_no_to_the_window_floor_question_is_upstairs_and_the_report_goes_on(services: Services) -> None:
    chat = Chat(services)
    chat.verify()
    chat.run("action_start_report", "bedroom window won't close, handle broken", "repair_doors_windows",
             facts=WINDOW)
    responses, events = chat.run("action_handle_deny", "no", "deny")
    assert chat.slots["fact_answers"] == {"floor": "upper"}
    assert "emergency" not in said(responses) and chat.active_loop == "report_form", events


def test_two_answers_that_rule_the_emergency_out_end_the_questions_and_the_report_goes_on(
    services: Services,
) -> None:
    chat = Chat(services)
    chat.verify()
    chat.run("action_start_report", "lift broken again", "repair_lifts", facts=LIFT)
    chat.run("action_handle_answer", '/inform{"fact_answer": "false"}', "inform",
             entities=[{"entity": "fact_answer", "value": "false"}])
    responses, events = chat.run("action_handle_answer", '/inform{"fact_answer": "false"}', "inform",
                                 entities=[{"entity": "fact_answer", "value": "false"}])
    assert not any(r.get("buttons") for r in responses) and "emergency" not in said(responses)
    assert chat.slots["fact_answers"] == {"trapped": False, "cannot_use_stairs": False}
    assert chat.active_loop == "report_form", events


HEATING = {"affected": [{"code": "heating", "p": 0.93}], "location": {"value": "in_home", "p": 0.9}}
AT_RISK_QUESTION = "Is anyone at home elderly, disabled, very young, pregnant or unwell?"


def test_a_vulnerability_on_the_residents_record_answers_who_is_at_risk_and_is_not_asked(
    services: Services,
) -> None:
    chat = Chat(services)
    chat.verify()  # T-100001: a vulnerability on record
    responses, _ = chat.run("action_start_report", "my heating has stopped working", "repair_heating",
                            facts=HEATING)
    assert not any(r.get("buttons") for r in responses), responses
    assert "emergency" in said(responses)
    row = ticket_row(services, chat.slots["last_ticket_ref"])
    assert (row["priority"], row["priority_rule"], row["priority_path"]) == ("emergency", "no_heat_at_risk", "facts")
    # The record gave the fact, not the resident: nothing is kept as their answer.
    assert not chat.slots.get("fact_answers")


def test_a_resident_with_no_vulnerability_on_record_is_asked_who_is_at_risk(services: Services) -> None:
    chat = Chat(services)
    chat.verify(NOT_VULNERABLE_TENANT)
    responses, _ = chat.run("action_start_report", "my heating has stopped working", "repair_heating",
                            facts=HEATING)
    assert button_question(responses) == AT_RISK_QUESTION
    assert "emergency" not in said(responses)


def test_before_verification_the_record_is_unknown_so_who_is_at_risk_is_asked(services: Services) -> None:
    chat = Chat(services)
    responses, _ = chat.run("action_start_report", "my heating has stopped working", "repair_heating",
                            facts=HEATING)
    assert button_question(responses) == AT_RISK_QUESTION


def test_a_gas_leak_an_engineer_capped_gets_the_advice_first_but_is_not_logged_as_an_emergency(
    services: Services,
) -> None:
    chat = Chat(services)
    chat.verify()
    capped = {"affected": [{"code": "gas_leak", "p": 0.9}], "current": {"value": False, "p": 1.0}}
    responses, events = chat.run("action_start_report",
                                 "I smelt gas this morning. The engineer came and capped the pipe to the cooker.",
                                 "repair_gas", facts=capped)
    # The gas safety advice still comes first (the domain's response, which Rasa fills in).
    assert any("utter_gas_safety" in (r.get("response"), r.get("template")) for r in responses), responses
    assert "logged this as an emergency" not in said(responses) and not chat.slots.get("last_ticket_ref")
    assert chat.active_loop == "report_form", events
    # A smell the words say is still there stays the emergency it was.
    chat = Chat(services)
    chat.verify()
    responses, _ = chat.run("action_start_report", "The engineer capped the pipe but I can still smell gas.",
                            "repair_gas", facts=capped)
    assert "logged this as an emergency" in said(responses)
