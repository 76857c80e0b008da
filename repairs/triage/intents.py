"""Mapping the assistant's fine-grained intents onto the triage contract's coarse ones."""

from __future__ import annotations

from repairs_common.taxonomy import REPAIR_INTENT_PREFIX

CONTRACT_INTENTS = (
    "report_repair",
    "check_status",
    "cancel_repair",
    "complaint",
    "request_human",
    "greet",
    "goodbye",
    "thank",
    "out_of_scope",
)

# Internal intents that are not one of the contract's. "Not fixed" is a repair that needs doing
# again; adding details or photos is about an existing repair; the rest are conversational turns
# that carry no request of their own.
FINER_TO_CONTRACT = {
    "reopen_repair": "report_repair",
    "add_information": "check_status",
    "add_photo": "check_status",
    "rate_repair": "complaint",
    # "Am I talking to a real person?" is most often someone who wants one.
    "bot_challenge": "request_human",
    "affirm": "out_of_scope",
    "deny": "out_of_scope",
    "inform": "out_of_scope",
    "nlu_fallback": "out_of_scope",
    # "Stop" and "what can you do?" carry no request the triage contract names.
    "stop": "out_of_scope",
    "ask_capabilities": "out_of_scope",
    "choose_category": "report_repair",
}


def contract_intent(internal: str) -> str:
    if internal.startswith(REPAIR_INTENT_PREFIX):
        return "report_repair"
    if internal in CONTRACT_INTENTS:
        return internal
    return FINER_TO_CONTRACT.get(internal, "out_of_scope")

