"""A resident's existing repairs: check, cancel, reopen ("not fixed"), rate, add information or a photo.

Ownership is never decided here: every call carries the chat's identity and the repairs service
answers only with that resident's own repairs (another resident's reference is simply not found).
"""

from __future__ import annotations

import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import dissatisfaction
from actions.client import ApiError, ServiceUnavailable, get_client
from actions.identity import current_resident, resident_channel
from actions.pending import Pending, start_verification
from actions.texts import NOT_VERIFIED_YET, PHOTO_HOW, describe_ticket, service_down, ticket_buttons, yes_no
from actions.turn_keys import turn_key

_REF = re.compile(r"\bHR[-\s]?([2-9A-HJKMNP-Z]{6})\b", re.IGNORECASE)


def mentioned_reference(tracker: Tracker) -> Optional[str]:
    """A reference in the latest message (entity or plain text); the slot is only a fallback."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "ticket_ref" and entity.get("value"):
            match = _REF.search(str(entity["value"]))
            if match:
                return f"HR-{match.group(1).upper()}"
    match = _REF.search(tracker.latest_message.get("text") or "")
    return f"HR-{match.group(1).upper()}" if match else None


def _offered(tracker: Tracker, kind: str) -> Optional[str]:
    """The repair the last question was about, when it asked `kind` (awaiting "cancel:HR-…") and the
    resident names no other: "yes cancel it" answers "Do you want to cancel HR-…?" and is a yes,
    although it reads as a new request to cancel."""
    asked, _, reference = (tracker.get_slot("awaiting") or "").partition(":")
    named = mentioned_reference(tracker)
    if asked == kind and reference and named in (None, reference):
        return reference
    return None


async def _verified_or_ask(dispatcher: CollectingDispatcher, tracker: Tracker,
                          pending: Pending) -> Optional[List[EventType]]:
    """None when the chat is verified; otherwise the events that start verification."""
    try:
        resident = await current_resident(get_client(), tracker)
    except ServiceUnavailable:
        dispatcher.utter_message(text=service_down())
        return []
    if resident is not None:
        return None
    dispatcher.utter_message(text=NOT_VERIFIED_YET)
    return start_verification(pending)


Step = Callable[[], Awaitable[List[EventType]]]


async def _guarded(dispatcher: CollectingDispatcher, action: Step) -> List[EventType]:
    try:
        return await action()
    except ServiceUnavailable:
        dispatcher.utter_message(text=service_down())
        return []
    except ApiError as exc:
        if exc.status == 404:
            dispatcher.utter_message(text="I can't find a repair with that reference on your account. "
                                          "Check the reference (it looks like HR-7K3Q9M), or say \"my repairs\".")
        elif exc.status == 409:
            dispatcher.utter_message(text=exc.detail or "That isn't possible for this repair right now.")
        else:
            dispatcher.utter_message(text="Sorry, something went wrong on our side. Please try again shortly.")
        return []


async def check_status(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    ask = await _verified_or_ask(dispatcher, tracker, Pending.STATUS)
    if ask is not None:
        # "Where's my plumber, this is a joke": kept for the offer once verified and the status is shown.
        return ask + dissatisfaction.remember(tracker)
    client, me = get_client(), resident_channel(tracker)
    reference = mentioned_reference(tracker)

    async def run() -> List[EventType]:
        if reference:
            dispatcher.utter_message(text=describe_ticket(await client.get_ticket(me, reference)))
            return []
        tickets = await client.list_tickets(me, status="open", limit=10)
        if not tickets:
            dispatcher.utter_message(text="You have no open repairs with us. Tell me if something needs fixing.")
            return []
        intro = "Here are your open repairs:" if len(tickets) > 1 else "Here's your open repair:"
        dispatcher.utter_message(text="\n".join([intro] + [f"• {describe_ticket(t)}" for t in tickets[:5]]))
        return []

    events = await _guarded(dispatcher, run)
    return events + dissatisfaction.offer(dispatcher, tracker, events, reference=reference)


async def _pick(dispatcher: CollectingDispatcher, tracker: Tracker, purpose: str, *, status: str,
                want: Callable[[Dict[str, Any]], bool], none_text: str, question: str,
                act: Callable[[str], Awaitable[List[EventType]]]) -> List[EventType]:
    """Find the repair the resident means: the one they named, the only candidate, or ask."""
    client, me = get_client(), resident_channel(tracker)
    reference = mentioned_reference(tracker)

    async def run() -> List[EventType]:
        if reference:
            return await act(reference)
        # Only the resident's own: another household's report they are linked to is theirs to follow, not to change.
        tickets = await client.list_tickets(me, status=status, limit=20, include_linked=False)
        candidates = [t for t in tickets if want(t)]
        if not candidates:
            dispatcher.utter_message(text=none_text)
            return [SlotSet("awaiting", None)]
        if len(candidates) == 1:
            return await act(candidates[0]["reference"])
        dispatcher.utter_message(text=question, buttons=ticket_buttons(candidates))
        return [SlotSet("awaiting", purpose)]

    return await _guarded(dispatcher, run)


async def cancel_repair(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    ask = await _verified_or_ask(dispatcher, tracker, Pending.CANCEL)
    if ask is not None:
        return ask
    confirmed = _offered(tracker, "cancel")
    if confirmed:
        return await do_cancel(dispatcher, tracker, confirmed)

    async def confirm(reference: str) -> List[EventType]:
        dispatcher.utter_message(text=f"Do you want to cancel repair {reference}?",
                                 buttons=yes_no("Yes, cancel it", "No, keep it"))
        return [SlotSet("awaiting", f"cancel:{reference}")]

    return await _pick(dispatcher, tracker, "cancel", status="open", want=lambda t: bool(t.get("can_cancel")),
                       none_text="You have no repairs that can be cancelled here.",
                       question="Which repair do you want to cancel?", act=confirm)


async def do_cancel(dispatcher: CollectingDispatcher, tracker: Tracker, reference: str) -> List[EventType]:
    async def run() -> List[EventType]:
        await get_client().cancel(resident_channel(tracker), reference, "Cancelled by the resident in the chat")
        dispatcher.utter_message(text=f"Repair {reference} is cancelled. Tell me if you need anything else fixed.")
        return []

    return [SlotSet("awaiting", None), *await _guarded(dispatcher, run)]


async def reopen_repair(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    ask = await _verified_or_ask(dispatcher, tracker, Pending.REOPEN)
    if ask is not None:
        return ask + dissatisfaction.remember(tracker)
    reason = tracker.latest_message.get("text") or "Not fixed"
    offered = _offered(tracker, "offer_reopen")  # "yes reopen it" after a "not fixed" complaint
    if offered:
        return await send_back(dispatcher, tracker, offered, tracker.get_slot("description") or reason)

    async def reopen(reference: str) -> List[EventType]:
        return await do_reopen(dispatcher, tracker, reference, reason)

    return await _pick(dispatcher, tracker, "reopen", status="all", want=lambda t: bool(t.get("can_reopen")),
                       none_text="I can't see a finished repair to reopen. If it's a new problem, just describe it.",
                       question="Which repair isn't fixed?", act=reopen)


async def do_reopen(dispatcher: CollectingDispatcher, tracker: Tracker, reference: str,
                    reason: str) -> List[EventType]:
    events = [SlotSet("awaiting", None),
              *await _guarded(dispatcher, lambda: _reopen(dispatcher, tracker, reference, reason))]
    # Reopened first (the Ombudsman's road: put it right, then offer the complaint), then the offer.
    return events + dissatisfaction.offer(dispatcher, tracker, events, reference=reference)


async def _reopen(dispatcher: CollectingDispatcher, tracker: Tracker, reference: str, reason: str) -> List[EventType]:
    ticket = await get_client().reopen(resident_channel(tracker), reference, reason)
    dispatcher.utter_message(
        text=f"I'm sorry it isn't fixed. I've reopened {reference}; we aim to sort it {ticket['due_text']} "
        "and will be in touch about the next visit."
    )
    return []


STILL_OPEN = {"reported", "triaged", "scheduled", "in_progress", "reopened"}


async def send_back(dispatcher: CollectingDispatcher, tracker: Tracker, reference: str,
                    reason: str) -> List[EventType]:
    """"Not fixed" or "nobody came" about one repair: reopen it if it was finished. One still open has
    nothing to reopen (the service refuses), so the resident's words go on it for the team instead."""

    async def run() -> List[EventType]:
        client, me = get_client(), resident_channel(tracker)
        ticket = await client.get_ticket(me, reference)
        if ticket.get("can_reopen"):
            return await _reopen(dispatcher, tracker, reference, reason)
        if ticket.get("status") in STILL_OPEN:
            await client.add_information(me, reference, f"The resident says it still needs doing: {reason}",
                                         idempotency_key=f"still-open:{turn_key(tracker)}")
            dispatcher.utter_message(
                text=f"I'm sorry. {reference} is still open, so I've passed your message to the team on it: "
                "they'll be in touch to arrange the visit."
            )
            return []
        dispatcher.utter_message(text=f"{reference} can't be reopened. If something still needs fixing, tell me "
                                      "what's wrong and I'll report it.")
        return []

    return [SlotSet("awaiting", None), *await _guarded(dispatcher, run)]


async def rate_repair(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    ask = await _verified_or_ask(dispatcher, tracker, Pending.RATE)
    if ask is not None:
        return ask

    async def rate(reference: str) -> List[EventType]:
        return ask_rating(dispatcher, reference, fixed="yes" in tracker.get_latest_entity_values("fixed"))

    return await _pick(dispatcher, tracker, "rate", status="all", want=lambda t: bool(t.get("can_rate")),
                       none_text="There's no finished repair to rate yet.",
                       question="Which repair would you like to rate?", act=rate)


def rating_buttons() -> List[Dict[str, Any]]:
    """The five star buttons, best first. The score is a string: Rasa compares entity values as strings (rasa
    test, e2e stories)."""
    return [{"title": f"{n} {'★' * n}", "payload": f'/inform{{"score": "{n}"}}'} for n in range(5, 0, -1)]


def ask_rating(dispatcher: CollectingDispatcher, reference: str, fixed: bool = False) -> List[EventType]:
    """Ask for a 1-5 score. `fixed`: the resident has just said the work fixed it (the "Yes, it's fixed"
    button of a completion message), recorded with the score."""
    dispatcher.utter_message(text=f"How did we do on {reference}? 5 is excellent, 1 is very poor.",
                             buttons=rating_buttons())
    return [SlotSet("awaiting", f"{'rate_fixed' if fixed else 'rate'}:{reference}")]


async def add_information(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    ask = await _verified_or_ask(dispatcher, tracker, Pending.INFORMATION)
    if ask is not None:
        return ask

    async def collect(reference: str) -> List[EventType]:
        return collect_information(reference)

    return await _pick(dispatcher, tracker, "information", status="open", want=lambda t: True,
                       none_text="You have no open repairs to add to. Tell me what's wrong and I'll report it.",
                       question="Which repair is it about?", act=collect)


def collect_information(reference: str) -> List[EventType]:
    """Ask for the text to add to `reference` (the information form, activated for Rasa to run next)."""
    return [SlotSet("ticket_ref", reference), SlotSet("information_text", None), ActiveLoop("information_form")]


async def add_photo(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    ask = await _verified_or_ask(dispatcher, tracker, Pending.PHOTO)
    if ask is not None:
        return ask
    dispatcher.utter_message(text=PHOTO_HOW)
    return []


class ActionSubmitInformation(Action):
    def name(self) -> Text:
        return "action_submit_information"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        reference = tracker.get_slot("ticket_ref")
        text = tracker.get_slot("information_text") or ""

        async def add() -> List[EventType]:
            await get_client().add_information(resident_channel(tracker), reference, text,
                                               idempotency_key=f"information:{turn_key(tracker)}")
            dispatcher.utter_message(text=f"Thanks, I've added that to {reference}.")
            return []

        if not text:
            # The form stopped before its answer (an emergency paused it, actions/interruptions.py): its offer to
            # carry on, in `awaiting`, stands.
            return []
        result = await _guarded(dispatcher, add) if reference else []
        return [*result, SlotSet("information_text", None), SlotSet("awaiting", None)]


def _action(name: str, function: Callable[[CollectingDispatcher, Tracker], Awaitable[List[EventType]]]) -> type:
    class _Capability(Action):
        def name(self) -> Text:
            return name

        async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: Dict[Text, Any]) -> List[EventType]:
            return await function(dispatcher, tracker)

    _Capability.__name__ = "".join(part.title() for part in name.split("_"))
    return _Capability


# "What are my repairs?" outside a form is actions/open_questions.ActionCheckStatus (it asks again what it interrupted).
ActionCancelRepair = _action("action_cancel_repair", cancel_repair)
ActionReopenRepair = _action("action_reopen_repair", reopen_repair)
ActionRateRepair = _action("action_rate_repair", rate_repair)
ActionAddInformation = _action("action_add_information", add_information)
ActionAddPhoto = _action("action_add_photo", add_photo)
