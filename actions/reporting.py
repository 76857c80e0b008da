"""Reporting a repair: understand it, make it safe first if it is an emergency, ask what we need,
confirm, and log it once (an Idempotency-Key per report, so a double-tapped "yes" is one ticket)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from repairs_common.gas import gas_made_safe
from repairs_common.taxonomy import CATEGORY_CODES, COMMUNAL_CATEGORIES, category_from_intent, is_category

from actions import (
    digressions,
    dissatisfaction,
    fact_questions,
    interruptions,
    open_questions,
    report_changes,
    shared_faults,
)
from actions.client import ApiError, ServiceUnavailable, get_client
from actions.excerpt import report_excerpt
from actions.identity import current_resident, resident_channel
from actions.interruptions import GAS_SIGNALS, learned_emergency
from actions.pending import Pending, start_verification
from actions.safety import create_emergency_ticket, mentions_gas, out_of_hours_text
from actions.texts import (
    CATEGORY_NAMES,
    NOT_VERIFIED_YET,
    REPORT_CANCELLED,
    category_buttons,
    service_down,
    yes_no,
)
from actions.turn_keys import turn_uuid

logger = logging.getLogger(__name__)

CONFIDENT = 0.6
COMMUNAL_PLACES = (
    "stair", "landing", "lift", "corridor", "communal", "hallway outside", "bin", "chute", "entrance", "lobby",
    "car park", "door entry", "intercom", "estate", "block", "roof", "garden", "outside",
)
VULNERABILITY_MATTERS = {"damp_mould", "lifts"}
# The requests an emergency told during their verification does not undo: they need nothing the emergency's
# report overwrites (a report or a complaint keeps its words in the slots the emergency's report takes).
KEPT_AFTER_EMERGENCY = {p.value for p in (Pending.STATUS, Pending.CANCEL, Pending.REOPEN, Pending.RATE,
                                          Pending.INFORMATION, Pending.PHOTO, Pending.HUMAN)}
COLD_MONTHS = {10, 11, 12, 1, 2, 3, 4}


def chosen_category(tracker: Tracker) -> Optional[str]:
    """A category the resident picked from the buttons (`/inform{"category": "plumbing"}`)."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "category" and is_category(entity.get("value")):
            return str(entity["value"])
    return None


def communal_place(place: str, category: Optional[str]) -> bool:
    lowered = place.lower()
    return any(word in lowered for word in COMMUNAL_PLACES) or category in COMMUNAL_CATEGORIES


def _category_from_message(tracker: Tracker) -> tuple[Optional[str], float, List[str]]:
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name") or ""
    confidence = float((message.get("intent") or {}).get("confidence") or 0.0)
    ranking = ranked_categories(message)
    chosen = chosen_category(tracker)
    if chosen:
        return chosen, 1.0, ranking
    category = category_from_intent(intent)
    if category:
        return category, confidence, ranking
    return None, 0.0, ranking


def ranked_categories(message: Dict[str, Any]) -> List[str]:
    """The categories of the repair intents in the message's intent ranking, likeliest first."""
    found = (category_from_intent(str(r.get("name", ""))) for r in message.get("intent_ranking") or [])
    return [c for c in found if c]


# The policy's questions asked per report at most, each only while its answer could change the priority. A lift
# report can need two: is anyone stuck in it now, and can everyone use the stairs (a fall hazard: is it above
# the ground floor, and is anyone at risk). More than two and the resident waits behind a form again.
MAX_FACT_QUESTIONS = 2


async def start_report(dispatcher: CollectingDispatcher, tracker: Tracker, *, fresh: bool = True,
                       answers: Optional[Dict[str, Any]] = None) -> List[EventType]:
    """Begin (or, after verification or an answer to the policy's question, resume) a report. `answers`: the
    resident's answer just given (the slot is set by this turn's events, so the tracker does not have it yet)."""
    client = get_client()
    events: List[EventType] = []
    text = tracker.get_slot("description") or ""
    category = tracker.get_slot("category")
    confidence = 1.0
    ranking: List[str] = []
    report_id = tracker.get_slot("report_id") or turn_uuid(tracker)
    communal = tracker.get_slot("location_type") == "communal"
    facts = tracker.get_slot("facts")
    answers = answers if answers is not None else tracker.get_slot("fact_answers")
    if fresh:
        # From the turn, not drawn afresh: an emergency is logged under it at once (below), and a second run of
        # this same call (the balancer's retry on the other action server) must log the same one.
        report_id = turn_uuid(tracker)
        # A category button is not parsed, so it carries no facts: keep those of the words it follows.
        facts = facts if chosen_category(tracker) else fact_questions.message_facts(tracker)
        answers = None
        text = tracker.latest_message.get("text") or ""
        found, confidence, ranking = _category_from_message(tracker)
        if chosen_category(tracker):
            text = tracker.get_slot("description") or ""  # a button press is not a description
        category = found or "other"
        places = [e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "place"]
        # The form validates only what the resident answers it, so a place named in the first message
        # says here whether the repair is in the home or in a shared area.
        communal = category in COMMUNAL_CATEGORIES or bool(places and communal_place(str(places[0]), category))
        events += [
            SlotSet("report_id", report_id),
            SlotSet("description", text[:4000]),
            SlotSet("category", category),
            SlotSet("category_confirmed", True if confidence >= 0.999 else None),
            SlotSet("place", places[0] if places else None),
            SlotSet("details", None),
            SlotSet("access", None),
            SlotSet("vulnerable_present", None),
            SlotSet("report_confirmed", None),
            SlotSet("location_type", "communal" if communal else ("in_home" if places else None)),
            SlotSet("awaiting", None),
            SlotSet("facts", facts),
            SlotSet("fact_answers", None),
            SlotSet("fact_question", None),
        ]
        # Words of dissatisfaction are kept for an offer of a complaint once the report is logged, and a new
        # report forgets an older one's. Never for an emergency (the advice and the fast visit are the answer):
        # gas is known now; any other emergency is the policy's verdict below, which forgets them again.
        events += dissatisfaction.remember(tracker, emergency=mentions_gas(text)) or [
            SlotSet(dissatisfaction.KEPT, None)]

    # The language model's emergency signal for the words just typed (rasa_components.emergency_classifier);
    # it can only make a report more urgent. A resumed report has already been judged.
    signal = learned_emergency(tracker) if fresh else None
    # Safety first: emergencies get their advice before anything else, even before verification.
    if mentions_gas(text) or signal in GAS_SIGNALS:
        dispatcher.utter_message(response="utter_gas_safety")
        category = "gas"
    # A verified resident whose record says they are vulnerable (the service keeps residents' needs) is the
    # answer to "is anyone at risk?": the policy counts it as the fact, so the question is never put to them.
    # Looked up once here, before the verdict, and used again below; a service that fails is asked again there.
    try:
        resident: Optional[Dict[str, Any]] = await current_resident(client, tracker)
        resident_known = True
    except ServiceUnavailable:
        resident, resident_known = None, False
    assessed_answers = answers
    if resident and resident.get("vulnerable") and facts is not None:
        assessed_answers = {**(answers or {}), "at_risk": True}
    triage = None
    try:
        # The policy's verdict on these words; the category is already known from understanding them.
        triage = await client.assess(category or "other", text, emergency_signal=signal, facts=facts,
                                     answers=assessed_answers) if text else None
    except (ServiceUnavailable, ApiError):
        triage = None
    # A gas leak the message says an engineer has since capped or made safe got the advice above (each sentence is
    # read alone, and a false alarm costs a paragraph), but its priority follows the policy's reading of the facts.
    made_safe = triage is not None and not triage.get("emergency") and gas_made_safe(text)
    emergency = bool(triage and triage.get("emergency")) or (category == "gas" and not made_safe)
    if triage and triage.get("emergency") and category != "gas":
        advice = triage.get("advice") or ""
        dispatcher.utter_message(text=f"⚠️ This sounds like an emergency. {advice}".strip())
    if emergency and category != "gas":
        council = await _council(client)
        dispatcher.utter_message(text=out_of_hours_text(council))

    # Ask, then decide: when a fact the words leave unsaid would change the priority, the policy names one
    # question, asked before anything else (verification included), so a leak that turns out to be spreading
    # gets its safety advice at once; never the same one twice, and at most MAX_FACT_QUESTIONS per report.
    # An emergency never waits for it.
    question = triage.get("question") if triage and not emergency else None
    asked = answers or {}
    if question and len(asked) < MAX_FACT_QUESTIONS and question.get("qualifier") not in asked:
        return [*events, SlotSet("category", category), *fact_questions.ask(dispatcher, question)]

    try:
        if not resident_known:
            resident = await current_resident(client, tracker)
    except ServiceUnavailable:
        dispatcher.utter_message(text=service_down())
        return events
    if resident is None:
        pending = Pending.EMERGENCY if emergency else Pending.REPORT
        dispatcher.utter_message(text=NOT_VERIFIED_YET)
        # An emergency told while verification was running for something else goes first; that something
        # else is kept, to be carried out after it (actions/resume.py).
        earlier = tracker.get_slot("pending") if tracker.active_loop_name == "verify_form" else None
        after = [SlotSet("pending_after", earlier)] if emergency and earlier in KEPT_AFTER_EMERGENCY else []
        return [*events, SlotSet("category", category), *after, *start_verification(pending)]

    if emergency:
        key = f"report:{report_id}"
        return events + await create_emergency_ticket(
            dispatcher, tracker, category=category or "other", description=text, key=key, facts=facts,
            answers=answers,
        ) + [SlotSet("awaiting", None), SlotSet(dissatisfaction.KEPT, None)]

    if communal:
        # A fault in a shared part of the block may be reported already: "me too" instead of a second report.
        offered = await shared_faults.offer(dispatcher, tracker, client, category or "other")
        if offered is not None:
            return events + offered

    # Leaseholders: a repair inside their own flat is theirs; say so plainly, with advice.
    # (A repair in a shared area, by its category or the place named, is the council's as for tenants.)
    if resident.get("tenure") == "leaseholder" and category not in COMMUNAL_CATEGORIES and not communal:
        try:
            duty = await client.responsibility(
                resident_channel(tracker), category=category or "other", location_type="in_home", text=text
            )
        except (ServiceUnavailable, ApiError):
            duty = None
        if duty and duty.get("responsible") == "resident":
            dispatcher.utter_message(text=f"{duty['reason']} {duty.get('advice') or ''}".strip())
            dispatcher.utter_message(
                text="If the problem is in a shared part of the building or outside, tell me and I'll report it."
            )
            return [*events, SlotSet("category", None), SlotSet("report_id", None)]

    if confidence < CONFIDENT and fresh:
        # Not sure what it is: offer the likeliest categories instead of guessing.
        choices = ranking[:3] or ["plumbing", "heating", "electrical"]
        events.append(SlotSet("category", choices[0]))
    # Activating the form here (rather than forcing it with a FollowupAction) lets the dialogue policy
    # see it: Rasa runs the active form next, and `rasa test` stories can say so.
    return [*events, ActiveLoop("report_form")]


async def _council(client: Any) -> Dict[str, Any]:
    try:
        return await client.council()
    except (ServiceUnavailable, ApiError):
        return {}


def _typed(value: Any) -> str:
    """What the resident typed for a free-text question; a button payload ("/affirm", "/inform{...}") tapped
    on an older message is not an answer to it, so the question is asked again."""
    text = str(value or "").strip()
    return "" if text.startswith("/") else text


class ActionStartReport(Action):
    def name(self) -> Text:
        return "action_start_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        paused = digressions.paused_form(tracker)
        if paused in interruptions.PAUSABLE and not interruptions.is_gas(tracker):
            # A repair told while a form waits for "shall we carry on?": an emergency is dealt with and the form
            # offered again; words describing the problem answer the paused question when it asked for them.
            verdict = await interruptions.emergency_verdict(tracker)
            if verdict is not None:
                return await interruptions.handle(dispatcher, tracker, verdict, paused,
                                                  digressions.paused_question(tracker))
            answer = digressions.typed_answer(tracker)
            if answer is not None and digressions.paused_question(tracker) in digressions.DESCRIBING:
                return digressions.carry_on_with_answer(paused, answer)
        started = await start_report(dispatcher, tracker, fresh=True)
        open_kind = (tracker.get_slot("awaiting") or "").partition(":")[0]
        if paused or open_kind not in _KEPT_BY_AN_EMERGENCY or not _logged_at_once(started):
            return started
        # An emergency logged at once, told while a yes/no question was open ("Do you want me to cancel HR-...?"):
        # that question is still open, and is put again (a report that goes on to its form replaces it).
        kept = [e for e in started if not (isinstance(e, dict) and e.get("event") == "slot"
                                           and e.get("name") == "awaiting" and e.get("value") is None)]
        return [*kept, *open_questions.ask_again(dispatcher, tracker, kept)]


# The open questions an emergency logged at once leaves standing: those that need nothing the emergency's report
# overwrites (a complaint offered, a reopen or a shared fault keep their words in the report's slots).
_KEPT_BY_AN_EMERGENCY = ("cancel", "offer_callback", "offer_human", "rate", "rate_fixed")


def _logged_at_once(events: List[EventType]) -> bool:
    """The report was logged straight away (an emergency): a ticket made, no form started, nothing asked."""
    logged = any(isinstance(e, dict) and e.get("name") == "last_ticket_ref" and e.get("value") for e in events)
    return logged and not any(isinstance(e, dict) and e.get("event") == "active_loop" and e.get("name")
                              for e in events)


class ValidateReportForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_report_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        # An emergency told at any of the report's questions is not its answer (actions/interruptions.py).
        interrupted = await interruptions.interrupt(dispatcher, tracker, "report_form")
        if interrupted is not None:
            return interrupted
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        category = tracker.get_slot("category") or "other"
        slots = ["category_confirmed", "place"]
        description = tracker.get_slot("description") or ""
        # Details asked for a short report, kept once given, and asked again when the resident changes them.
        if (len(description.split()) < 6 or tracker.get_slot("details")
                or tracker.get_slot("awaiting") == report_changes.CHANGING_DETAILS):
            slots.append("details")
        if category not in COMMUNAL_CATEGORIES and tracker.get_slot("location_type") != "communal":
            slots.append("access")
        month = date.today().month
        if category in VULNERABILITY_MATTERS or (category == "heating" and month in COLD_MONTHS):
            slots.append("vulnerable_present")
        slots.append("report_confirmed")
        return slots

    def _gas_check(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        if mentions_gas(tracker.latest_message.get("text") or ""):
            dispatcher.utter_message(response="utter_gas_safety")

    def validate_category_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        self._gas_check(dispatcher, tracker)
        picked = value if is_category(value) else None  # a category button
        if value is True or picked:
            chosen = picked or tracker.get_slot("category")
            confirmed: Dict[Text, Any] = {"category_confirmed": True, "category": chosen}
            if chosen in COMMUNAL_CATEGORIES:
                confirmed["location_type"] = "communal"
            return confirmed
        # "No": show every category to choose from.
        return {"category_confirmed": None, "awaiting": "choose_category"}

    def validate_place(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        self._gas_check(dispatcher, tracker)
        place = _typed(value)[:200]
        if not place:
            return {"place": None}
        communal = communal_place(place, tracker.get_slot("category"))
        return {"place": place, "location_type": "communal" if communal else "in_home"}

    def validate_details(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        self._gas_check(dispatcher, tracker)
        details = _typed(value)[:2000] or None
        if details and tracker.get_slot("awaiting") == report_changes.CHANGING_DETAILS:
            return {"details": details, "awaiting": None}
        return {"details": details}

    def validate_access(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        self._gas_check(dispatcher, tracker)
        return {"access": _typed(value)[:500] or None}

    def validate_report_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Yes logs it. "No, that's wrong" asks which part to change (a button, or words naming it), and
        only that part is asked again; a "no" to that question, or "Cancel the report", logs nothing."""
        if value is True:
            return {"report_confirmed": True, "awaiting": None}
        changing = report_changes.changing(tracker)
        if value is False:
            if changing or report_changes.leaving(tracker.latest_message.get("text") or ""):
                return {"report_confirmed": False, "awaiting": None}
            return {"report_confirmed": None, "awaiting": report_changes.CHANGING}
        field = report_changes.named_field(value, report_changes.offered(tracker))
        if field is None and _small_talk(tracker):
            # Read as small talk or out of scope and naming no part: the rules have answered it; ask again.
            return {"report_confirmed": None}
        if field is None:
            # Words that name no part of the summary: ask which part, with the buttons.
            return {"report_confirmed": None, "awaiting": report_changes.CHANGING}
        return report_changes.reopened(field)


# At the summary, words that name a part to change ("the times are wrong") can be read as any of these; the
# summary's slot takes them (domain.yml), and they are an answer only when they name a part.
SMALL_TALK = ("out_of_scope", "greet", "thank", "goodbye")


def _small_talk(tracker: Tracker) -> bool:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "") in SMALL_TALK


class ActionBriefOutOfScope(Action):
    """Out of scope inside a report: the short answer (the form then asks its question again), except at the
    summary for words that name a part to change, read as out of scope ("the times are wrong"): those are the
    answer, which the form takes next (validate_report_confirmed)."""

    def name(self) -> Text:
        return "action_brief_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        at_summary = tracker.get_slot("requested_slot") == "report_confirmed"
        if not (at_summary and report_changes.named_field(text, report_changes.offered(tracker))):
            dispatcher.utter_message(response="utter_brief_out_of_scope")
        return []


class ActionAskCategoryConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_category_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        category = tracker.get_slot("category") or "other"
        if tracker.get_slot("awaiting") == "choose_category" or category == "other":
            dispatcher.utter_message(
                text="Which of these is it closest to?", buttons=category_buttons(list(CATEGORY_CODES))
            )
            return [SlotSet("awaiting", None)]
        ranking = ranked_categories(tracker.latest_message or {})
        alternatives = [c for c in ranking if c not in (category, "other")][:2]
        buttons = [{"title": "Yes, that's right", "payload": "/affirm"}]
        buttons += category_buttons(alternatives)
        buttons.append({"title": "No, something else", "payload": "/deny"})
        dispatcher.utter_message(text=f"It sounds like a problem with {CATEGORY_NAMES[category]}. Is that right?",
                                 buttons=buttons)
        return []


class ActionAskReportConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_report_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        category = tracker.get_slot("category") or "other"
        if report_changes.changing(tracker):
            dispatcher.utter_message(text="No problem. Which part should I change?",
                                     buttons=report_changes.buttons(report_changes.offered(tracker)))
            return []
        lines = [
            "Here's what I'll send to the repairs team:",
            f"• Problem: {CATEGORY_NAMES.get(category, category)}",
            f"• Where: {tracker.get_slot('place') or 'not given'}",
            f"• What you said: \"{_short(tracker.get_slot('description'))}\"",
        ]
        if tracker.get_slot("details"):
            lines.append(f"• More detail: \"{_short(tracker.get_slot('details'))}\"")
        if tracker.get_slot("access"):
            lines.append(f"• Access: {_short(tracker.get_slot('access'))}")
        if tracker.get_slot("vulnerable_present"):
            lines.append("• Someone vulnerable is affected")
        lines.append("Shall I log it?")
        # "Change something" is a "no": it asks which part (actions/report_changes.py).
        dispatcher.utter_message(text="\n".join(lines), buttons=[*yes_no("Yes, log it", "Change something"),
                                                                 {"title": "Cancel", "payload": "/stop"}])
        return []


def _short(text: Optional[str], limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _report_body(tracker: Tracker) -> Dict[str, Any]:
    """The create request for the report the form built."""
    description = tracker.get_slot("description") or ""
    if tracker.get_slot("details"):
        description = f"{description}\n{tracker.get_slot('details')}"
    body: Dict[str, Any] = {
        "category": tracker.get_slot("category") or "other",
        "description": description.strip()[:4000] or "Reported in the chat",
        "location_type": tracker.get_slot("location_type") or "in_home",
        "location": (tracker.get_slot("place") or None) and str(tracker.get_slot("place"))[:200],
        "access_notes": tracker.get_slot("access"),
        "availability": (tracker.get_slot("access") or None) and str(tracker.get_slot("access"))[:500],
        "vulnerable_present": bool(tracker.get_slot("vulnerable_present")),
        # The chat that produced it, for the officer who picks it up.
        "conversation": report_excerpt(tracker.events) or None,
    }
    if tracker.get_slot("facts") is not None:
        # What the priority rests on: the service's fact rules decide from these and record them.
        body["facts"] = tracker.get_slot("facts")
        if tracker.get_slot("fact_answers"):
            body["answers"] = tracker.get_slot("fact_answers")
    return body


class ActionSubmitReport(Action):
    def name(self) -> Text:
        return "action_submit_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        reset = [SlotSet(s, None) for s in ("category_confirmed", "place", "details", "access", "vulnerable_present",
                                             "report_confirmed", "location_type", "facts", "fact_answers",
                                             "fact_question", "report_request")]
        if digressions.paused_form(tracker) == "report_form":
            return []  # the form stopped for an emergency and waits for "shall we carry on?", not finished
        if not tracker.get_slot("report_confirmed"):
            dispatcher.utter_message(text=REPORT_CANCELLED)
            return [*reset, SlotSet("report_id", None), SlotSet("description", None)]
        key = f"report:{tracker.get_slot('report_id') or turn_uuid(tracker)}"
        # A report that was sent before under this key (and timed out) goes again exactly as it was; any other
        # is built from the form now. Kept with its key, so an abandoned one never rides on another report.
        sent = tracker.get_slot("report_request") or {}
        body = sent["body"] if isinstance(sent, dict) and sent.get("key") == key else _report_body(tracker)
        try:
            ticket = await get_client().create_ticket(resident_channel(tracker), body, idempotency_key=key)
        except ServiceUnavailable:
            dispatcher.utter_message(
                text="Sorry, our repairs system isn't answering, so I couldn't log it yet. Nothing is lost: "
                "say \"yes\" again in a few minutes and I'll try once more, or call the repairs line."
            )
            # The try again must be the same request under the same key: the first may have been logged after
            # all (it timed out here, not there), and the service refuses a key reused for another body, which
            # the chat excerpt would now be, longer by this apology and the resident's "yes".
            return [SlotSet("awaiting", "retry_report"), SlotSet("report_request", {"key": key, "body": body})]
        except ApiError as exc:
            if exc.code == "not_council_responsibility":
                dispatcher.utter_message(text=f"{exc.detail} {exc.body.get('advice') or ''}".strip())
            else:
                # Any other refusal of a report the form built is a fault of ours, not the resident's: say so,
                # and leave a line (status and code only) for whoever looks into it.
                logger.warning("report not logged: the service answered %s %s", exc.status, exc.code)
                dispatcher.utter_message(
                    text="Sorry, something went wrong on our side and I couldn't log that. "
                    "Please call the repairs line and we'll take it from there."
                )
            return [*reset, SlotSet("report_id", None)]
        message = (
            f"Done. Your repair reference is {ticket['reference']}. It's {ticket['priority']} priority: "
            f"we aim to fix it {ticket['due_text']}."
        )
        if ticket.get("awaab_investigate_by"):
            message += " Because it's damp or mould, we'll also inspect it and write to you about what we found."
        dispatcher.utter_message(text=message)
        dispatcher.utter_message(text="If you have a photo of the problem, send it now and I'll add it.")
        events: List[EventType] = [*reset, SlotSet("last_ticket_ref", ticket["reference"]), SlotSet("report_id", None),
                                   SlotSet("description", None), SlotSet("awaiting", None)]
        # The report is logged: now, if its words were dissatisfied, offer to log a complaint about it too.
        return events + dissatisfaction.offer(dispatcher, tracker, events, reference=str(ticket["reference"]),
                                              emergency=ticket.get("priority") == "emergency")


async def answer_fact(dispatcher: CollectingDispatcher, tracker: Tracker, *,
                      said: Optional[bool] = None) -> List[EventType]:
    """The resident answered the policy's question (a button, or a typed yes/no): record it beside any earlier
    answer and carry on with the report, now decided with the answers (which may ask one more question).
    Anything else asks the question again."""
    question = tracker.get_slot("fact_question") or {}
    value = fact_questions.answered(tracker, question, said=said)
    if value is None or not question.get("qualifier"):
        return fact_questions.ask(dispatcher, question) if question.get("qualifier") else [SlotSet("awaiting", None)]
    answers = {**(tracker.get_slot("fact_answers") or {}), str(question["qualifier"]): value}
    events: List[EventType] = [SlotSet("fact_answers", answers), SlotSet("fact_question", None),
                               SlotSet("awaiting", None)]
    return events + await start_report(dispatcher, tracker, fresh=False, answers=answers)
