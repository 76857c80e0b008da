"""Verified residents talking to the assistant through Rasa's signed channel, timed turn by turn.

A conversation is one distinct sender (a Telegram chat id) that verified before timing starts and then
plays SCRIPT: a greeting, the list of their repairs, a repair reported end to end (category confirmed,
access given, summary confirmed, ticket created), that ticket asked after by reference, thanks and
goodbye. Each step has at least ten phrasings and each conversation picks among them at random (seeded);
where the bot offers a button, the resident taps it half the time (sent as its payload, "/affirm", as the
bot does) and types an answer otherwise. Each step names what its
answer must contain, so a turn that went off script counts as an error instead of being timed as
something else; a step the assistant may rightly skip (it does not ask to confirm a category it is
sure of) is sent only when the previous answer asked for it. Nothing here logs message text.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from repairs_common import turn_signing

from bench.loadgen import percentile, run_async

_REFERENCE = re.compile(r"\bHR-[0-9A-Z]{6}\b")


@dataclass(frozen=True)
class Step:
    kind: str  # what the report calls this turn
    texts: tuple[str, ...]  # typed phrasings to pick from; "{ref}" is the ticket this conversation made
    expect: tuple[str, ...]  # the answer must contain one of these (case-insensitive)
    actions: str  # the custom-action work behind the turn, in words ("" when Rasa answers alone)
    when: tuple[str, ...] = ()  # sent only if the previous answer asked for it (contains one of these)
    tap: str = ""  # the payload of the button the bot offered for this answer; a resident taps it or types


_ASKS_CATEGORY = ("is that right",)
_ASKS_ACCESS = ("when can we get in",)
# The policy's questions about a report (data/policy.yml `fact_questions`).
_ASKS_FACT = ("is the water contained", "only toilet", "can you lock or shut it now", "window on the ground floor")
TAP_SHARE = 0.5  # how often a resident taps the offered button rather than typing the answer

# What residents say at each step, written from how people talk to a council's repairs line (not taken
# from the assistant's training data, so the script measures understanding too). The reports are all
# everyday repairs inside the home, with the room named and in more than five words, of kinds that do
# not ask about vulnerable people: the form's next question is then the category or the access times.
SCRIPT: tuple[Step, ...] = (
    Step("greeting", ("hiya", "hello", "hi there", "morning", "good morning", "hey", "hi", "good afternoon",
                      "hello, is anyone there?", "evening", "hey there"), ("repairs assistant",), ""),
    Step("list my repairs", ("any update on my repairs?", "whats happening with my repairs",
                             "can u check my repairs pls", "any news on my repairs", "show me my repairs",
                             "what repairs have I got open", "can I see the repairs I've reported",
                             "what jobs have you got down for my flat", "are any of my repairs still open?",
                             "list my repairs please", "where are we with my repairs"),
         ("open repair", "no open repairs"), "who is this chat + list open tickets"),
    Step("report a repair", ("the tap in my kitchen is dripping all the time and theres water under the sink",
                             "my kitchen tap is leaking and theres water all under the sink",
                             "hot tap in the kitchen wont turn off properly, drips constantly",
                             "one of the kitchen cupboard doors has come off its hinge",
                             "the extractor fan in my bathroom has stopped working",
                             "my bedroom window won't close properly, the handle is broken",
                             "the toilet in the bathroom keeps running after you flush it",
                             "the light in my hallway doesn't work even with a new bulb",
                             "the back door lock in my kitchen is really stiff and hard to turn",
                             "the kitchen sink is draining really slowly and gurgles",
                             "a floorboard in the living room is loose and moves when you step on it",
                             "the bathroom sink is coming away from the wall"),
         _ASKS_CATEGORY + _ASKS_ACCESS + _ASKS_FACT, "who is this chat + start the report form"),
    # The policy asks one question when a fact the report leaves unsaid would change its priority (data/policy.yml
    # `fact_questions`): a resident answers it as asked, so these are conditional too, and then the form goes on.
    Step("say the water is contained", ("yes it's contained", "yeah it's contained", "yes, it's just under the sink",
                                        "yes it's not going anywhere", "yes, a bowl is catching it",
                                        "yep contained", "yes it's only in the cupboard", "yes, it stays in the sink",
                                        "yes, it's all under control", "yes it's contained, just a drip"),
         _ASKS_CATEGORY + _ASKS_ACCESS, "policy + form", when=(_ASKS_FACT[0],),
         tap='/inform{"fact_answer": "true"}'),
    Step("say another toilet works", ("no, there's another one", "no we have two toilets", "no, there's a second loo",
                                      "nope, the downstairs one works", "no there's another toilet upstairs",
                                      "no, we've got two", "no, the other toilet is fine", "no there's a spare one",
                                      "no, another one works", "no we have another"),
         _ASKS_CATEGORY + _ASKS_ACCESS, "policy + form", when=(_ASKS_FACT[1],), tap='/inform{"fact_answer": "false"}'),
    Step("say the door still locks", ("yes it still locks", "yes, I can lock it, it's just stiff", "yeah it locks",
                                      "yes it shuts and locks", "yes I can still lock it", "yep, it locks with a push",
                                      "yes it does lock", "yes, it locks fine in the end", "yes we can lock it",
                                      "yes it closes and locks ok"),
         _ASKS_CATEGORY + _ASKS_ACCESS, "policy + form", when=(_ASKS_FACT[2],), tap='/inform{"fact_answer": "true"}'),
    # A window that will not shut is an emergency only on the ground floor: the policy asks which.
    Step("say the window is upstairs", ("no, it's upstairs", "no", "no it's on the first floor", "nope, upstairs",
                                        "no, second floor", "no we're upstairs", "no, it's a first floor flat",
                                        "no it's the upstairs bedroom", "nah, upstairs", "no, top floor"),
         _ASKS_CATEGORY + _ASKS_ACCESS, "policy + form", when=(_ASKS_FACT[3],), tap='/inform{"fact_answer": "upper"}'),
    # When the model is sure of the category it goes straight to access, so these two are conditional.
    Step("confirm the category", ("yes", "yes that's right", "yep", "correct", "that's it", "yeah",
                                  "yes that's the one", "spot on", "right", "yes it is"),
         _ASKS_ACCESS, "form validation", when=_ASKS_CATEGORY, tap="/affirm"),
    Step("give access times", ("weekday mornings", "any time after 10", "afternoons are best for me",
                               "I'm in most days after lunch", "tuesdays or thursdays, any time",
                               "mornings before 12 please, I do the school run after 3",
                               "I work from home so whenever suits you",
                               "after 4pm on weekdays", "any weekday, there's a dog but I'll shut him in",
                               "monday to friday 9 till 1", "whenever, just ring the bell twice"),
         ("shall i log it",), "form validation + summary", when=_ASKS_ACCESS),
    Step("confirm the report", ("yes please", "yes log it", "go ahead", "yep that's all correct", "please do",
                                "yes that's everything", "that's right, log it", "yes", "sounds right",
                                "yes please go ahead"),
         ("your repair reference is",), "create the ticket (Idempotency-Key)", when=("shall i log it",),
         tap="/affirm"),
    Step("ask after the new repair", ("whens someone coming for {ref}", "any news on {ref}",
                                      "what's the status of {ref}", "has {ref} been booked in yet?",
                                      "can you tell me what's happening with {ref}", "is anyone coming out for {ref}",
                                      "{ref} any update?", "when will {ref} be fixed", "check {ref} for me please",
                                      "what's going on with repair {ref}"),
         ("{ref}",), "who is this chat + that ticket"),
    Step("thanks", ("thanks", "cheers", "thank you", "thanks very much", "brilliant thanks", "ta",
                    "thank you so much", "great, thanks for your help", "lovely, thank you", "many thanks",
                    "much appreciated"), ("welcome",), ""),
    Step("goodbye", ("bye", "cheers bye", "thats all thanks bye", "goodbye", "see you", "bye for now",
                     "that's everything, bye", "ok bye", "take care, bye", "ta-ra"), ("bye",), ""),
)


MAKES_TICKET = "confirm the report"  # the step whose answer carries the new ticket's reference


def fill(template: str, reference: str | None) -> str:
    """A phrasing with the conversation's ticket in place of "{ref}" (a tapped payload's own braces stay)."""
    return template.replace("{ref}", reference or "")


def choose(step: Step, rng: random.Random) -> tuple[str, str]:
    """What the resident sends at this step, as (how the report names it, the text or payload)."""
    if step.tap and rng.random() < TAP_SHARE:
        return "button", step.tap
    text = step.texts[rng.randrange(len(step.texts))]
    return f'"{text}"', text


@dataclass
class Conversation:
    sender: str
    tenancy_reference: str
    postcode: str
    reference: str | None = None  # the ticket this conversation made


@dataclass(frozen=True)
class Turn:
    kind: str
    ms: float
    ok: bool


@dataclass
class LoadResult:
    name: str
    concurrency: int
    think_s: tuple[float, float]
    conversations: int
    wall_s: float
    turns: list[Turn] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)  # the first unexpected answer to each phrasing
    off_script_phrasings: Counter[str] = field(default_factory=Counter)  # by step and phrasing

    @property
    def latencies(self) -> list[float]:
        return [t.ms for t in self.turns]

    def pct(self, p: float, kind: str | None = None) -> float:
        return percentile([t.ms for t in self.turns if kind is None or t.kind == kind], p)

    @property
    def turns_per_s(self) -> float:
        return len(self.turns) / self.wall_s if self.wall_s else 0.0

    def summary(self) -> dict[str, Any]:
        by_kind = {}
        for step in SCRIPT:
            values = [t.ms for t in self.turns if t.kind == step.kind]
            if values:
                by_kind[step.kind] = {"n": len(values), "p50_ms": round(percentile(values, 50), 1),
                                      "p95_ms": round(percentile(values, 95), 1)}
        lat = self.latencies
        return {
            "name": self.name, "concurrency": self.concurrency, "think_s": list(self.think_s),
            "conversations": self.conversations, "turns": len(lat), "errors": dict(self.errors),
            "wall_s": round(self.wall_s, 2), "turns_per_s": round(self.turns_per_s, 2),
            "p50_ms": round(self.pct(50), 1), "p95_ms": round(self.pct(95), 1), "p99_ms": round(self.pct(99), 1),
            "max_ms": round(max(lat), 1) if lat else None, "by_kind": by_kind, "off_script_samples": self.samples,
            "off_script_phrasings": dict(self.off_script_phrasings),
        }


class OffScript(Exception):
    pass


async def _say(client: httpx.AsyncClient, secret: str, sender: str, text: str) -> list[dict[str, Any]]:
    """One turn signed as the bot signs it: button taps (the script's "/..." payloads) as buttons, words as
    typed. Signing is part of the timed turn, as it is of the bot's."""
    body, headers = turn_signing.signed_request(secret, sender, text, {"channel": "telegram"},
                                                typed=not text.startswith("/"))
    response = await client.post(turn_signing.WEBHOOK_PATH, content=body, headers=headers)
    response.raise_for_status()
    return list(response.json())


def _text(replies: list[dict[str, Any]]) -> str:
    return " ".join(str(r.get("text") or "") for r in replies)


async def _verify(client: httpx.AsyncClient, secret: str, conversation: Conversation) -> None:
    await _say(client, secret, conversation.sender, "/start_verification")
    await _say(client, secret, conversation.sender, conversation.tenancy_reference)
    answer = _text(await _say(client, secret, conversation.sender, conversation.postcode))
    if "verified" not in answer:
        raise OffScript("verification did not succeed")


def make_conversations(count: int, tenants: Sequence[tuple[str, str]], rng: random.Random) -> list[Conversation]:
    """`count` conversations, each a distinct Telegram chat, spread over the tenants."""
    ids = rng.sample(range(100_000_000, 999_999_999), count)
    return [Conversation(f"telegram:{chat}", *tenants[i % len(tenants)]) for i, chat in enumerate(ids)]


def verify_all(rasa_url: str, secret: str, conversations: list[Conversation], *, concurrency: int = 4,
               timeout: float = 60.0) -> None:
    """Link every conversation's chat to its tenant (untimed), a few at a time."""

    async def main() -> None:
        queue = list(conversations)
        async with httpx.AsyncClient(base_url=rasa_url, timeout=timeout, trust_env=False) as client:
            async def worker() -> None:
                while queue:
                    await _verify(client, secret, queue.pop())

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    run_async(main)


async def _play(client: httpx.AsyncClient, secret: str, conversation: Conversation, rng: random.Random,
                think: tuple[float, float], result: LoadResult) -> None:
    answer = ""
    for step in SCRIPT:
        if step.when and not any(w in answer.lower() for w in step.when):
            continue
        if step.kind != SCRIPT[0].kind and think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))  # the resident reads the answer and types
        if "{ref}" in " ".join(step.texts) and conversation.reference is None:
            result.errors[f"skipped: {step.kind} (no ticket was made)"] += 1
            continue
        label, template = choose(step, rng)
        text = fill(template, conversation.reference)
        started = time.perf_counter()
        try:
            replies = await _say(client, secret, conversation.sender, text)
        except httpx.TimeoutException:
            result.errors[f"timeout: {step.kind}"] += 1
            continue
        except httpx.HTTPError as exc:
            result.errors[f"{type(exc).__name__}: {step.kind}"] += 1
            continue
        ms = (time.perf_counter() - started) * 1000
        answer = _text(replies)
        wanted = [e.format(ref=conversation.reference).lower() for e in step.expect]
        ok = any(w in answer.lower() for w in wanted)
        if not ok:
            result.errors[f"off script: {step.kind}"] += 1
            # The bot's words to a made-up resident, and the scripted phrasing it was answering.
            result.off_script_phrasings[f"{step.kind}: {label}"] += 1
            result.samples.setdefault(f"{step.kind}: {label}", answer[:300])
        result.turns.append(Turn(step.kind, ms, ok))
        if step.kind == MAKES_TICKET:
            found = _REFERENCE.search(answer)
            conversation.reference = found.group(0) if found else None


Play = Callable[[httpx.AsyncClient, Conversation, random.Random, tuple[float, float], LoadResult], Awaitable[None]]


def drive(base_url: str, name: str, conversations: list[Conversation], play: Play, *, concurrency: int,
          think: tuple[float, float], seed: int, timeout: float = 60.0) -> LoadResult:
    """`play` every conversation, `concurrency` conversations at a time. Between turns each resident pauses
    for a random time in `think` (seconds); (0, 0) is a stress test with no pause."""
    result = LoadResult(name, concurrency, think, len(conversations), 0.0)

    async def main() -> None:
        queue = list(reversed(conversations))
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits, trust_env=False) as client:
            async def worker(n: int) -> None:
                rng = random.Random(seed * 1000 + n)
                if think[1] > 0:  # residents do not all start typing in the same instant
                    await asyncio.sleep(rng.uniform(0, think[1]))
                while queue:
                    await play(client, queue.pop(), rng, think, result)

            started = time.perf_counter()
            await asyncio.gather(*(worker(n) for n in range(concurrency)))
            result.wall_s = time.perf_counter() - started

    run_async(main)
    return result


def run_conversations(rasa_url: str, secret: str, name: str, conversations: list[Conversation], *,
                      concurrency: int, think: tuple[float, float], seed: int, timeout: float = 60.0) -> LoadResult:
    """Play SCRIPT through our signed channel in every conversation (see `drive`)."""

    async def play(client: httpx.AsyncClient, conversation: Conversation, rng: random.Random,
                   pause: tuple[float, float], result: LoadResult) -> None:
        await _play(client, secret, conversation, rng, pause, result)

    return drive(rasa_url, name, conversations, play, concurrency=concurrency, think=think, seed=seed,
                 timeout=timeout)


def parse_latencies(rasa_url: str, token: str, texts: Sequence[str], *, warmup: int = 20,
                    timeout: float = 30.0) -> list[float]:
    """`/model/parse` latency (ms) of each text, one request at a time."""
    out: list[float] = []
    warm = list(texts[:warmup])  # the first requests pay for lazy set-up; not counted
    with httpx.Client(base_url=rasa_url, params={"token": token}, timeout=timeout, trust_env=False) as client:
        for i, text in enumerate([*warm, *texts]):
            started = time.perf_counter()
            response = client.post("/model/parse", json={"text": text})
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            if i >= len(warm):
                out.append(elapsed)
    return out
