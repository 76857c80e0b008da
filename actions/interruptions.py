"""An emergency told in the middle of a form ("someone is stuck in the lift" at "Where is the problem?") is not
the form's answer. Its safety advice comes first, then it is logged as an emergency, and then the resident is
asked whether to carry on with the form, which is paused as any digression pauses it (actions/digressions.py).

What counts as an emergency is the repairs service's policy (`/api/v1/assess`, the same verdict a fresh report
gets); nothing here lists emergencies. Only words that describe a hazard are put to it, whatever the intent the
NLU read ("water's pouring in now" can come back as `inform` at "When can we get in?"): the message's intent is a
repair, the emergency classifier flagged it, or the fact extractor found a hazard in it (repairs_common.facts);
"weekday mornings" or "the kitchen" cost no call.

Gas and carbon monoxide are decided offline, by the shared detector or the classifier's gas signal, whatever the
intent: read as a gas report, the rules say the advice first (data/dialogue/rules.yml); read as anything else at a
form's question, the advice comes first here and the emergency is logged and the form offered back as for any other
emergency. A leak the message says has been made safe gets the advice and is the form's answer (the validators say
the advice). Verification keeps its path: the emergency is not an answer, and the report it starts gives it its
advice at once and verifies the resident for it (actions/reporting.start_report, from actions/verification.py).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from repairs_common.facts import HAZARDS, Facts, FactsError
from repairs_common.gas import HAZARDS as GAS_HAZARDS
from repairs_common.gas import gas_made_safe, mentions_gas
from repairs_common.taxonomy import category_from_intent

from actions import digressions
from actions.client import ApiError, ServiceUnavailable, get_client
from actions.fact_questions import message_facts
from actions.identity import current_resident
from actions.safety import PAUSABLE, create_emergency_ticket, out_of_hours_text
from actions.turn_keys import turn_key

# The emergency classifier's kinds that are the gas hazards (the service's advice keys for them).
GAS_SIGNALS = frozenset(GAS_HAZARDS)


def learned_emergency(tracker: Tracker) -> Optional[str]:
    """The language model's emergency signal for the latest message (rasa_components.emergency_classifier)."""
    signal = (tracker.latest_message or {}).get("emergency") or {}
    kind = signal.get("kind") if isinstance(signal, dict) else None
    return str(kind) if kind and kind != "none" else None


def is_gas(tracker: Tracker) -> bool:
    message = tracker.latest_message or {}
    intent = str((message.get("intent") or {}).get("name") or "")
    return intent == "repair_gas" or mentions_gas(message.get("text") or "") or learned_emergency(
        tracker) in GAS_SIGNALS


def current_gas(tracker: Tracker) -> bool:
    """Gas or carbon monoxide told now, not a leak the message says was made safe (that one gets the advice, and
    the policy its priority)."""
    return is_gas(tracker) and not gas_made_safe(str((tracker.latest_message or {}).get("text") or ""))


def describes_hazard(tracker: Tracker) -> bool:
    """The fact extractor found a hazard in the latest message (water coming in, someone trapped, a door that
    will not lock...), whatever the intent it was read as."""
    try:
        facts = Facts.from_json(message_facts(tracker))
    except FactsError:
        return False
    return bool(facts.codes() & set(HAZARDS))


def answering_now(tracker: Tracker, form: str) -> bool:
    """Is the form running on words the resident typed to its question? Not when it was started (or started
    again) this turn: then the latest message is what led to it, already judged by whoever started it."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            text = str(event.get("text") or "")
            return bool(text.strip()) and not text.startswith("/")  # a button is not words to judge
        if event.get("event") == "active_loop" and event.get("name") == form:
            return False
    return False


async def emergency_verdict(tracker: Tracker, *, whatever_the_intent: bool = False) -> Optional[Dict[str, Any]]:
    """The policy's verdict on the latest message when it describes a non-gas emergency, else None (also when
    the service cannot say: the words are then taken as the form's answer, as they were before).
    `whatever_the_intent` puts the words to the policy even when they were not read as a repair: a complaint
    ("disgraceful, water is pouring through my ceiling again") can describe an emergency too."""
    message = tracker.latest_message or {}
    intent = str((message.get("intent") or {}).get("name") or "")
    category = category_from_intent(intent)
    signal = learned_emergency(tracker)
    if category is None and signal is None and not whatever_the_intent and not describes_hazard(tracker):
        return None
    try:
        verdict = await get_client().assess(category or "other", str(message.get("text") or ""),
                                            emergency_signal=signal, facts=message_facts(tracker))
    except (ServiceUnavailable, ApiError):
        return None
    if not verdict.get("emergency"):
        return None
    # What it is, for the ticket: the repair the words were understood as (the verdict names no category).
    return {**verdict, "category": category or "other"}


async def interrupt(dispatcher: CollectingDispatcher, tracker: Tracker, form: str) -> Optional[List[EventType]]:
    """The events that stop `form` for an emergency told at its question (advice, the ticket, the offer to carry
    on), or None when the message is an ordinary answer."""
    if form not in PAUSABLE or not answering_now(tracker, form):
        return None
    # The words were read as the answer at the start of the turn: unread them, so the question is asked again.
    unread = [SlotSet(slot, None) for slot in tracker.slots_to_validate()]
    if current_gas(tracker):
        # Gas read as an answer (the rules take it when it is read as a gas report): the advice first, offline.
        dispatcher.utter_message(response="utter_gas_safety")
        return [*unread, *await _log_and_offer(dispatcher, tracker, "gas", form)]
    if is_gas(tracker):
        return None  # made safe: the validator says the advice, and the words are the answer
    verdict = await emergency_verdict(tracker)
    if verdict is None:
        return None
    return [*unread, *await handle(dispatcher, tracker, verdict, form)]


async def handle(dispatcher: CollectingDispatcher, tracker: Tracker, verdict: Dict[str, Any], form: str,
                 asked: Optional[str] = None) -> List[EventType]:
    """Advice, the emergency logged, and the offer to carry on with `form` (paused at `asked`, or at the question
    it is asking now)."""
    await _say_advice(dispatcher, verdict)
    return await _log_and_offer(dispatcher, tracker, str(verdict["category"]), form, asked)


async def _log_and_offer(dispatcher: CollectingDispatcher, tracker: Tracker, category: str, form: str,
                         asked: Optional[str] = None) -> List[EventType]:
    """The emergency logged for the (verified) resident, and the offer to carry on with `form`."""
    text = str(tracker.latest_message.get("text") or "")
    key = f"emergency:{turn_key(tracker)}"
    logged = await create_emergency_ticket(dispatcher, tracker, category=category, description=text,
                                           key=key, facts=message_facts(tracker))
    return [*logged, *digressions.offer_to_carry_on(dispatcher, tracker, form, asked)]


async def advise(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """The safety advice alone, for words whose report comes later (the fallback's "Did you mean ...?"): gas gets
    the gas advice, another emergency its advice and the out-of-hours line. Whether any was given."""
    if is_gas(tracker):
        dispatcher.utter_message(response="utter_gas_safety")
        return True
    verdict = await emergency_verdict(tracker)
    if verdict is None:
        return False
    await _say_advice(dispatcher, verdict)
    return True


async def _say_advice(dispatcher: CollectingDispatcher, verdict: Dict[str, Any]) -> None:
    """The policy's advice for the emergency, then the council's out-of-hours line (none when the service
    cannot say: the advice has already gone, and the line is a courtesy on top of it)."""
    dispatcher.utter_message(text=f"⚠️ This sounds like an emergency. {verdict.get('advice') or ''}".strip())
    try:
        council = await get_client().council()
    except (ServiceUnavailable, ApiError):
        council = {}
    dispatcher.utter_message(text=out_of_hours_text(council))


async def advise_first(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Safety first for words that were not read as a repair (a complaint): gas gets the gas advice, another
    emergency its advice, the out-of-hours line and, for a verified resident, the emergency logged. Then
    whatever the resident asked for carries on. Nothing is said when the words describe no emergency."""
    if is_gas(tracker):
        dispatcher.utter_message(response="utter_gas_safety")
        return []
    verdict = await emergency_verdict(tracker, whatever_the_intent=True)
    if verdict is None:
        return []
    dispatcher.utter_message(text=f"⚠️ This sounds like an emergency. {verdict.get('advice') or ''}".strip())
    try:
        council = await get_client().council()
    except (ServiceUnavailable, ApiError):
        council = {}
    dispatcher.utter_message(text=out_of_hours_text(council))
    try:
        resident = await current_resident(get_client(), tracker)
    except ServiceUnavailable:
        resident = None
    if resident is None:
        # Not verified yet: the advice and the line to call come first; verification would make it wait.
        return []
    text = str(tracker.latest_message.get("text") or "")
    key = f"emergency:{turn_key(tracker)}"
    return await create_emergency_ticket(dispatcher, tracker, category=str(verdict["category"]), description=text,
                                         key=key, facts=message_facts(tracker))
