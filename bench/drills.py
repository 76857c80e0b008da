"""`make drills`: failure drills against the replicated stack (bench/cluster.py), each under steady load,
with the books checked afterwards. Report in bench/results/drills.md and drills.json.

Load during every drill: residents with linked Telegram chats play bench/conversations.py's script through
the Telegram stand-in (webhook -> HAProxy -> a bot -> HAProxy -> a Rasa -> HAProxy -> an action server ->
HAProxy -> a repairs service), web chat sessions send short turns through HAProxy to the bots, and an officer
moves other residents' repairs on at a steady rate, each move queueing one proactive Telegram message that
a bot's delivery worker sends.

Per drill:
- attempted / answered: resident turns sent (Telegram updates and web chat messages), and those answered
  by the assistant. A Telegram turn with no reply within LOST_AFTER_S is lost; a web chat message answered
  with an error is lost (the page shows the resident the error, but their words went unanswered).
- answered_late_p95: the 95th percentile of answered turns' time to answer, in seconds.
- duplicated: tickets made beyond one per "log it" turn, plus proactive messages sent to a chat more than once.
- lost: unanswered turns, plus tickets a resident was given a reference for that do not exist, plus proactive
  messages never delivered.
- listening: residents' typed messages in Rasa's tracker store during the drill, against those the repairs
  services' listening consumers stored from the event broker (RabbitMQ); any not stored count as lost.
- recovery_s: from the fault's end (the kill, or the end of a fault that lasts) until every part answers
  its health check again and a probe turn is answered.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import httpx
import sqlalchemy as sa

from bench import dataset, loadgen
from bench.cluster import Cluster, ClusterConfig, running_cluster, say
from bench.conversations import _REFERENCE, MAKES_TICKET, SCRIPT, choose, fill
from evaluation.rasa_process import ROOT
from repairs.listening.events import read_event
from tests.telegram_standin import SentMessage, TelegramStandIn

RESULTS = ROOT / "bench" / "results"
LOST_AFTER_S = 90.0  # a Telegram turn unanswered this long is lost
QUIET_S = 1.0  # a turn's replies are over once its chat has been quiet this long
TAPS = {"/affirm"}
OUTBOX_REPORT = {"category": "plumbing", "description": "The kitchen tap drips all the time and there's water under "
                 "the sink", "location_type": "in_home", "location": "kitchen", "channel": "telegram"}
WEB_TEXTS = ("hello", "hi there", "what can you help me with", "how do I report a repair", "good morning")


@dataclass
class Timing:
    load_s: float = 60.0  # steady load per drill
    fault_at_s: float = 15.0  # into the load
    fault_s: float = 30.0  # how long a lasting fault lasts (slow, down, SIGSTOP, Telegram errors)
    burst_s: float = 30.0
    telegram_workers: int = 4
    web_workers: int = 2
    think: tuple[float, float] = (1.0, 3.0)
    outbox_every_s: float = 1.0  # one proactive message queued this often


@dataclass
class Outcome:
    name: str
    attempted: int = 0
    answered: int = 0
    answered_late_p95: float = 0.0  # seconds
    lost: int = 0
    duplicated: int = 0
    recovery_s: float | None = None
    turns_lost: int = 0
    turns_off_script: int = 0
    telegram_turns: int = 0
    web_turns: int = 0
    web_errors: dict[str, int] = field(default_factory=dict)
    tickets_reported: int = 0
    tickets_lost: int = 0
    tickets_duplicated: int = 0
    outbox_queued: int = 0
    outbox_lost: int = 0
    outbox_duplicated: int = 0
    stray_messages: int = 0
    heard: int = 0  # typed messages in Rasa's tracker store
    listened: int = 0  # of them, stored by listening (through RabbitMQ)
    restarts: dict[str, int] = field(default_factory=dict)
    notes: str = ""


# -- the population -------------------------------------------------------------------------------------

@dataclass
class Population:
    chats: list[dataset.ResidentRow]  # converse
    recipients: list[dataset.ResidentRow]  # receive proactive updates
    references: dict[int, str]  # recipient id -> their repair
    officer_auth: dict[str, str]
    next_recipient: int = 0

    def take(self, n: int) -> list[dataset.ResidentRow]:
        taken = self.recipients[self.next_recipient:self.next_recipient + n]
        self.next_recipient += n
        return taken


def populate(cluster: Cluster, *, chats: int, recipients: int) -> Population:
    engine = dataset.engine_for(cluster.database_url)
    try:
        people = dataset.load_people(engine, residents=chats + recipients, rng=random.Random(15))
        dataset.make_officer(engine)
    finally:
        engine.dispose()
    receiving = people[chats:]

    def report(i: int) -> loadgen.Call:
        return loadgen.Call("POST", "/api/v1/tickets", {
            "Authorization": f"Bearer {cluster.repairs_token}", "X-Resident-Channel": receiving[i].chat,
            "Idempotency-Key": str(uuid.uuid4())}, json=OUTBOX_REPORT)

    made = loadgen.run(cluster.urls["repairs"], "repairs to move on", report, requests=len(receiving), concurrency=4,
                       expected_status=201, timeout=60)
    if made.errors:
        raise RuntimeError(f"could not report the repairs to move on: {dict(made.errors)}")
    with httpx.Client(base_url=cluster.urls["repairs"], trust_env=False, timeout=60) as client:
        token = client.post("/api/v1/auth/token", json={"email": dataset.OFFICER_EMAIL,
                                                        "password": dataset.OFFICER_PASSWORD})
        token.raise_for_status()
    engine = sa.create_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT resident_id, reference FROM tickets WHERE resident_id = ANY(:ids)"),
                                {"ids": [p.id for p in people[chats:]]}).all()
    finally:
        engine.dispose()
    return Population(people[:chats], people[chats:], {int(r[0]): str(r[1]) for r in rows},
                      {"Authorization": f"Bearer {token.json()['access_token']}"})


# -- the load -------------------------------------------------------------------------------------------

@dataclass
class TurnRecord:
    channel: str
    ms: float | None  # None: not answered
    ok: bool = True  # answered as the script expects
    error: str = ""


class Load:
    """Steady load until `stop` is set; every turn recorded."""

    def __init__(self, cluster: Cluster, population: Population, timing: Timing, seed: int) -> None:
        self.cluster = cluster
        self.tg: TelegramStandIn = cluster.telegram
        self.population = population
        self.timing = timing
        self.seed = seed
        self.stop = threading.Event()
        self.turns: list[TurnRecord] = []
        self.confirms: Counter[int] = Counter()  # resident id -> "log it" turns sent
        self.told: dict[str, int] = {}  # reference a resident was given -> resident id
        self.attributed: Counter[int] = Counter()  # chat -> messages counted as replies
        # What each conversing chat held before this drill: whatever arrives and no turn waited for is stray.
        self.baseline = {int(p.external_id): len(self.tg.sent(int(p.external_id))) for p in population.chats}
        self.queued: list[dataset.ResidentRow] = []
        self.queue_errors = 0
        self._lock = threading.Lock()
        self._free_chats = list(population.chats)
        self._threads: list[threading.Thread] = []

    def record(self, turn: TurnRecord) -> None:
        with self._lock:
            self.turns.append(turn)

    # Telegram
    def _button(self, chat: int, payload: str) -> tuple[str, int] | None:
        for message in reversed(self.tg.sent(chat)):
            for button in message.buttons:
                data = str(button.get("callback_data") or "")
                if data == payload or data.endswith("|" + payload):
                    return str(button.get("text")), message.message_id
        return None

    def telegram_turn(self, chat: int, text: str) -> list[SentMessage] | None:
        before = len(self.tg.sent(chat))
        started = time.monotonic()
        if text in TAPS:
            button = self._button(chat, text)
            if button is None:
                self.record(TurnRecord("telegram", None, False, "no button to tap"))
                return None
            self.tg.tap(chat, button[0], message_id=button[1])
        else:
            self.tg.user_text(chat, text)
        try:
            messages = self.tg.wait_quiet(chat, after=before, quiet=QUIET_S, timeout=LOST_AFTER_S)
        except TimeoutError:
            self.record(TurnRecord("telegram", None, False, "no answer"))
            return None
        with self._lock:
            self.attributed[chat] += len(messages)
        self.record(TurnRecord("telegram", (max(m.sent_at for m in messages) - started) * 1000))
        return messages

    def _play(self, person: dataset.ResidentRow, rng: random.Random) -> None:
        chat = int(person.external_id)
        answer, reference = "", None
        for step in SCRIPT:
            if step.when and not any(w in answer.lower() for w in step.when):
                continue
            if "{ref}" in " ".join(step.texts) and reference is None:
                continue
            if step.kind != SCRIPT[0].kind:
                time.sleep(rng.uniform(*self.timing.think))
                if self.stop.is_set():
                    return  # the drill's load is over: the resident leaves mid-conversation
            _label, template = choose(step, rng)
            if step.kind == MAKES_TICKET:
                with self._lock:
                    self.confirms[person.id] += 1
            messages = self.telegram_turn(chat, fill(template, reference))
            if messages is None:
                return  # the resident gives up on this conversation
            answer = " ".join(m.body for m in messages)
            wanted = [e.format(ref=reference).lower() for e in step.expect]
            if not any(w in answer.lower() for w in wanted):
                with self._lock:
                    self.turns[-1].ok = False
            if step.kind == MAKES_TICKET:
                found = _REFERENCE.search(answer)
                reference = found.group(0) if found else None
                if reference:
                    with self._lock:
                        self.told[reference] = person.id

    def _telegram_worker(self, n: int) -> None:
        rng = random.Random(self.seed * 1000 + n)
        time.sleep(rng.uniform(0, self.timing.think[1]))
        while not self.stop.is_set():
            with self._lock:
                if not self._free_chats:
                    return
                person = self._free_chats.pop(0)
            try:
                self._play(person, rng)
            finally:
                with self._lock:
                    self._free_chats.append(person)

    # web chat
    def _web_worker(self, n: int) -> None:
        rng = random.Random(self.seed * 2000 + n)
        with httpx.Client(base_url=self.cluster.urls["bot"], trust_env=False, timeout=LOST_AFTER_S) as client:
            csrf = None
            while not self.stop.is_set():
                try:
                    if csrf is None:
                        page = client.get("/")
                        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
                        csrf = found.group(1) if found else None
                        if csrf is None:
                            raise httpx.HTTPError(f"no page ({page.status_code})")
                    started = time.monotonic()
                    response = client.post("/webchat/api/message", json={"text": rng.choice(WEB_TEXTS)},
                                           headers={"x-csrf-token": csrf})
                    ms = (time.monotonic() - started) * 1000
                    if response.status_code == 200 and response.json().get("messages"):
                        self.record(TurnRecord("web", ms))
                    else:
                        self.record(TurnRecord("web", None, False, f"HTTP {response.status_code}"))
                except httpx.HTTPError as exc:
                    self.record(TurnRecord("web", None, False, type(exc).__name__))
                    csrf = None
                time.sleep(rng.uniform(self.timing.think[0] + 2, self.timing.think[1] + 3))

    # the officer moving repairs on
    def _outbox_worker(self) -> None:
        with httpx.Client(base_url=self.cluster.urls["repairs"], trust_env=False, timeout=30) as client:
            while not self.stop.wait(self.timing.outbox_every_s):
                taken = self.population.take(1)
                if not taken:
                    return
                person = taken[0]
                reference = self.population.references[person.id]
                # Retried until it lands: an officer whose click failed clicks again, and a status change to
                # the status a repair already has queues nothing, so a retry never queues twice.
                for _ in range(30):
                    try:
                        response = client.post(f"/api/v1/officer/tickets/{reference}/status",
                                               headers=self.population.officer_auth, json={"status": "in_progress"})
                        if response.status_code == 200:
                            with self._lock:
                                self.queued.append(person)
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(2)
                else:
                    self.queue_errors += 1

    def start(self) -> None:
        targets: list[tuple[Callable[..., None], tuple[int, ...]]] = [(self._outbox_worker, ())]
        targets += [(self._telegram_worker, (n,)) for n in range(self.timing.telegram_workers)]
        targets += [(self._web_worker, (n,)) for n in range(self.timing.web_workers)]
        for target, args in targets:
            thread = threading.Thread(target=target, args=args, daemon=True)
            thread.start()
            self._threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=LOST_AFTER_S * 3)


def burst(load: Load, seconds: float, rate: float) -> None:
    """Greetings from new chats at `rate` a second for `seconds`, each its own turn."""
    started = time.monotonic()
    threads: list[threading.Thread] = []
    n = 0
    rng = random.Random(load.seed)
    while time.monotonic() - started < seconds:
        chat = 2_000_000_000 + rng.randrange(10**8)
        thread = threading.Thread(target=load.telegram_turn, args=(chat, rng.choice(SCRIPT[0].texts)), daemon=True)
        thread.start()
        threads.append(thread)
        n += 1
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
    for thread in threads:
        thread.join(timeout=LOST_AFTER_S + 10)


# -- faults ---------------------------------------------------------------------------------------------

def haproxy_command(cluster: Cluster, command: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(cluster.config.workdir / "haproxy.sock"))
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def set_delay(cluster: Cluster, kind: str, ms: int) -> None:
    """Every call to `kind` through the balancer waits `ms` first (bench/cluster.py's faults.lua)."""
    haproxy_command(cluster, f"set map {cluster.config.workdir / 'faults.map'} {kind} {ms}")


# What each kind waits on while it handles a turn: slowing that down for a moment before the kill makes sure
# the killed replica has turns in flight (mid-turn), not only between them.
WAITS_ON = {"bot": "rasa", "rasa": "actions", "actions": "repairs"}


def kill_one(kind: str) -> Callable[[Cluster, Load], None]:
    def fault(cluster: Cluster, _load: Load) -> None:
        downstream = WAITS_ON.get(kind)
        if downstream:
            set_delay(cluster, downstream, 3000)
            time.sleep(4)
        try:
            cluster.supervisor.signal_part(f"{kind}-1", signal.SIGKILL)
        finally:
            if downstream:
                time.sleep(0.5)
                set_delay(cluster, downstream, 0)
    return fault


def restart_redis(cluster: Cluster, _load: Load) -> None:
    cluster.supervisor.signal_part("redis", signal.SIGTERM)


def restart_postgres(cluster: Cluster, _load: Load) -> None:
    """A fast shutdown (what `pg_ctl restart -m fast` does), then the supervisor starts it again."""
    cluster.supervisor.signal_part("postgres", signal.SIGINT, group=False)


def rabbitmq_stopped(seconds: float) -> Callable[[Cluster, Load], None]:
    def fault(cluster: Cluster, _load: Load) -> None:
        with cluster.supervisor.held("rabbitmq"):  # stays down until the hold ends
            cluster.supervisor.signal_part("rabbitmq", signal.SIGTERM)
            time.sleep(seconds)
    return fault


def repairs_slow_then_down(timing: Timing) -> Callable[[Cluster, Load], None]:
    def fault(cluster: Cluster, _load: Load) -> None:
        set_delay(cluster, "repairs", 2000)
        time.sleep(timing.fault_s)
        set_delay(cluster, "repairs", 0)
        with cluster.supervisor.held("repairs"):  # both replicas down, not restarted until the hold ends
            for name in cluster.replicas("repairs"):
                cluster.supervisor.signal_part(name, signal.SIGTERM)
            time.sleep(timing.fault_s)
    return fault


def actions_hung(timing: Timing) -> Callable[[Cluster, Load], None]:
    def fault(cluster: Cluster, _load: Load) -> None:
        set_delay(cluster, "repairs", 3000)  # actions in flight on actions-1 when it stops
        time.sleep(4)
        cluster.supervisor.signal_part("actions-1", signal.SIGSTOP)
        set_delay(cluster, "repairs", 0)
        try:
            time.sleep(timing.fault_s)
        finally:
            cluster.supervisor.signal_part("actions-1", signal.SIGCONT)
    return fault


def telegram_errors(timing: Timing) -> Callable[[Cluster, Load], None]:
    """429 with retry_after, then 5xx, on every send, for half the fault each."""
    def fault(cluster: Cluster, _load: Load) -> None:
        tg = cluster.telegram
        for code, text, retry_after in ((429, "Too Many Requests: retry after 3", 3),
                                        (502, "Bad Gateway", None)):
            ends = time.monotonic() + timing.fault_s / 2
            while time.monotonic() < ends:
                for method in ("sendMessage", "sendPhoto", "editMessageReplyMarkup"):
                    tg.fail_next(method, code, text, retry_after=retry_after, times=1)
                time.sleep(0.2)
            with tg._cond:
                tg._faults.clear()
    return fault


def ten_times_burst(timing: Timing) -> Callable[[Cluster, Load], None]:
    def fault(_cluster: Cluster, load: Load) -> None:
        with load._lock:
            so_far = len(load.turns)
        rate = max(so_far / timing.fault_at_s, 0.5) * 10
        burst(load, timing.burst_s, rate)
    return fault


# -- a drill --------------------------------------------------------------------------------------------

@dataclass
class Drill:
    name: str
    fault: Callable[[Cluster, Load], None] | None
    notes: str = ""


def probe(cluster: Cluster) -> bool:
    try:
        with httpx.Client(base_url=cluster.urls["bot"], trust_env=False, timeout=30) as client:
            page = client.get("/")
            found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
            if not found:
                return False
            response = client.post("/webchat/api/message", json={"text": "hello"},
                                   headers={"x-csrf-token": found.group(1)})
            return response.status_code == 200 and bool(response.json().get("messages"))
    except httpx.HTTPError:
        return False


def recovery(cluster: Cluster, fault_ended: float, timeout: float = 300) -> float | None:
    while time.monotonic() - fault_ended < timeout:
        if all(part.healthy() for part in cluster.supervisor.parts.values()) and probe(cluster):
            return round(time.monotonic() - fault_ended, 1)
        time.sleep(0.5)
    return None


def run_drill(cluster: Cluster, population: Population, drill: Drill, timing: Timing, seed: int) -> Outcome:
    say(f"drill: {drill.name}")
    restarts_before = {name: part.restarts for name, part in cluster.supervisor.parts.items()}
    load = Load(cluster, population, timing, seed)
    started_wall = time.time()
    started = time.monotonic()
    load.start()
    recovered: float | None = None
    time.sleep(timing.fault_at_s)
    if drill.fault is not None:
        drill.fault(cluster, load)
        recovered = recovery(cluster, time.monotonic())
    # The load goes on to its planned end, and at least a little while after recovery.
    time.sleep(max(timing.load_s - (time.monotonic() - started), 10.0))
    load.finish()
    outcome = books(cluster, load, drill.name, started_wall)
    outcome.recovery_s = recovered if drill.fault is not None else 0.0
    outcome.restarts = {name: part.restarts - restarts_before.get(name, 0)
                        for name, part in cluster.supervisor.parts.items()
                        if part.restarts - restarts_before.get(name, 0)}
    outcome.notes = drill.notes
    say(f"  {json.dumps(asdict(outcome))}")
    return outcome


def books(cluster: Cluster, load: Load, name: str, started_wall: float) -> Outcome:
    """Count the drill's turns, tickets and proactive messages once the outbox has had time to drain."""
    tg = cluster.telegram
    queued = list(load.queued)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(len(tg.sent(int(p.external_id))) >= 1 for p in queued):
        time.sleep(1)
    time.sleep(5)  # any late duplicate
    outcome = Outcome(name)
    turns = list(load.turns)
    outcome.attempted = len(turns)
    answered = [t.ms for t in turns if t.ms is not None]
    outcome.answered = len(answered)
    outcome.answered_late_p95 = round(loadgen.percentile(answered, 95) / 1000, 2) if answered else 0.0
    outcome.turns_lost = outcome.attempted - outcome.answered
    outcome.turns_off_script = sum(1 for t in turns if t.ms is not None and not t.ok)
    outcome.telegram_turns = sum(1 for t in turns if t.channel == "telegram")
    outcome.web_turns = sum(1 for t in turns if t.channel == "web")
    errors: dict[str, int] = {}
    for t in turns:
        if t.ms is None:
            errors[f"{t.channel}: {t.error}"] = errors.get(f"{t.channel}: {t.error}", 0) + 1
    outcome.web_errors = errors
    # Tickets: every reference a resident was given exists, and no resident got more new repairs than the
    # times they said "log it".
    engine = sa.create_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            ids = list(load.confirms)
            made: dict[int, int] = dict(conn.execute(sa.text(
                "SELECT resident_id, count(*) FROM tickets WHERE resident_id = ANY(:ids) AND reported_at >= "
                "to_timestamp(:since) GROUP BY resident_id"), {"ids": ids, "since": started_wall - 1}).all())
            refs = set(conn.execute(sa.text("SELECT reference FROM tickets WHERE reference = ANY(:refs)"),
                                    {"refs": list(load.told)}).scalars())
            outbox = conn.execute(sa.text(
                "SELECT status, count(*) FROM notification_outbox WHERE resident_id = ANY(:ids) GROUP BY status"),
                {"ids": [p.id for p in queued]}).all()
    finally:
        engine.dispose()
    if cluster.config.own_services:
        outcome.heard, outcome.listened = listening_books(cluster, started_wall)
    outcome.tickets_reported = len(load.told)
    outcome.tickets_lost = len(set(load.told) - refs)
    outcome.tickets_duplicated = sum(max(0, int(made.get(rid, 0)) - n) for rid, n in load.confirms.items())
    outcome.outbox_queued = len(queued)
    for person in queued:
        got = len(tg.sent(int(person.external_id)))
        outcome.outbox_lost += int(got == 0)
        outcome.outbox_duplicated += max(0, got - 1)
    if load.queue_errors:
        outcome.notes += f" {load.queue_errors} status changes could not be made."
    outcome.notes += f" outbox rows by status: {dict((str(r[0]), int(r[1])) for r in outbox)}."
    for chat, before in load.baseline.items():
        outcome.stray_messages += max(0, len(tg.sent(chat)) - load.attributed.get(chat, 0) - before)
    outcome.lost = (outcome.turns_lost + outcome.tickets_lost + outcome.outbox_lost
                    + max(0, outcome.heard - outcome.listened))
    outcome.duplicated = outcome.tickets_duplicated + outcome.outbox_duplicated
    return outcome


def listening_books(cluster: Cluster, since: float, wait_s: float = 60) -> tuple[int, int]:
    """(residents' typed messages Rasa stored since `since`, those listening stored), once listening has caught
    up or `wait_s` has passed. Matched by listening's own event key (repairs/listening/events.py reads each
    tracker event as it reads a broker event), so a message the tracker holds twice counts once."""
    tracker = sa.make_url(cluster.database_url).set(database=cluster.config.tracker_db)
    engines = sa.create_engine(tracker), sa.create_engine(cluster.database_url)
    try:
        with engines[0].connect() as conn:
            rows = conn.execute(sa.text("SELECT sender_id, data FROM events WHERE type_name = 'user' AND "
                                        "timestamp >= :since"), {"since": since - 1}).all()
        heard: set[str] = set()
        for sender, data in rows:
            event = json.loads(data)
            event.setdefault("sender_id", sender)
            message = read_event(event)
            if message is not None:
                heard.add(message.event_key)
        deadline = time.monotonic() + wait_s
        while True:
            with engines[1].connect() as conn:
                stored = set(conn.execute(sa.text("SELECT event_key FROM listening_utterances WHERE "
                                                  "event_key = ANY(:keys)"), {"keys": list(heard)}).scalars())
            if stored >= heard or time.monotonic() > deadline:
                return len(heard), len(stored)
            time.sleep(2)
    finally:
        for engine in engines:
            engine.dispose()


# -- the run --------------------------------------------------------------------------------------------

RABBITMQ_S = 60.0  # the "stop RabbitMQ for a minute"


def drills(timing: Timing) -> list[Drill]:
    return [
        Drill("steady load, no fault", None, "The reference for the drills below."),
        Drill("kill -9 a repairs service", kill_one("repairs"), "SIGKILL to repairs-1's process group mid-load."),
        Drill("kill -9 a bot (and its delivery worker)", kill_one("bot"),
              "SIGKILL to bot-1 with turns in flight (calls to Rasa held 3 s for 4 s before the kill): its web "
              "chat and webhook turns, and the outbox rows its worker held."),
        Drill("kill -9 a Rasa server", kill_one("rasa"),
              "SIGKILL to rasa-1 with turns in flight (calls to the action servers held 3 s before the kill)."),
        Drill("kill -9 an action server", kill_one("actions"),
              "SIGKILL to actions-1 with actions in flight (calls to the repairs service held 3 s before the kill)."),
        Drill("restart Redis", restart_redis, "The cluster's own Redis (locks, nonces, web chat limits, the "
              "delivery workers' record of sent messages) stopped and started again by the supervisor."),
        Drill("restart PostgreSQL", restart_postgres,
              "The cluster's own PostgreSQL server (the repairs service's database and Rasa's tracker store) "
              "shut down (fast: open connections cut) and started again by the supervisor."),
        Drill("stop RabbitMQ for a minute", rabbitmq_stopped(RABBITMQ_S),
              f"The cluster's own RabbitMQ node (Rasa's event broker, read by listening) stopped for "
              f"{RABBITMQ_S:.0f} s, then started again."),
        Drill("repairs service slow (2 s a call) then down", repairs_slow_then_down(timing),
              f"Every call through the balancer delayed 2 s for {timing.fault_s:.0f} s, then both replicas "
              f"stopped for {timing.fault_s:.0f} s."),
        Drill("action server hung (SIGSTOP)", actions_hung(timing),
              f"actions-1 stopped (SIGSTOP) for {timing.fault_s:.0f} s, with actions in flight (calls to the "
              "repairs service held 3 s for 4 s before)."),
        Drill("Telegram 429 then 5xx", telegram_errors(timing),
              f"Every send answered 429 (retry_after 3) for {timing.fault_s / 2:.0f} s, then 502 for as long."),
        Drill("10x burst", ten_times_burst(timing),
              f"New chats greeting at ten times the load's message rate for {timing.burst_s:.0f} s."),
    ]


def write_report(outcomes: list[Outcome], timing: Timing, wall_s: float, cluster_note: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "drills.json").write_text(json.dumps([asdict(o) for o in outcomes], indent=2) + "\n",
                                         encoding="utf-8")
    lines = [
        "# Failure drills (`make drills`)", "",
        f"The replicated stack of `make cluster` ({cluster_note}), each drill under steady load: "
        f"{timing.telegram_workers} Telegram residents playing the assistant benchmark's script through the "
        f"Bot API stand-in (webhook), {timing.web_workers} web chat sessions, and an officer moving a repair "
        f"on every {timing.outbox_every_s:.0f} s (one proactive Telegram message each). Load {timing.load_s:.0f} s "
        f"per drill, the fault {timing.fault_at_s:.0f} s in. Whole run {wall_s / 60:.1f} min. "
        "How each column is counted: bench/drills.py's docstring.", "",
        "| drill | attempted | answered | p95 answer (s) | lost | duplicated | recovery (s) | restarts |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        restarts = ", ".join(f"{k} {v}" for k, v in o.restarts.items()) or "-"
        lines.append(f"| {o.name} | {o.attempted} | {o.answered} | {o.answered_late_p95} | {o.lost} | "
                     f"{o.duplicated} | {o.recovery_s if o.recovery_s is not None else 'not recovered'} | {restarts} |")
    lines += ["", "## The books, drill by drill", ""]
    for o in outcomes:
        lines.append(f"- **{o.name}**: {o.telegram_turns} Telegram and {o.web_turns} web chat turns; "
                     f"unanswered {o.turns_lost} {o.web_errors or ''}; answered off script {o.turns_off_script}; "
                     f"tickets given to residents {o.tickets_reported} (missing {o.tickets_lost}, extra "
                     f"{o.tickets_duplicated}); proactive messages queued {o.outbox_queued} (undelivered "
                     f"{o.outbox_lost}, sent twice {o.outbox_duplicated}); stray messages {o.stray_messages}; "
                     f"typed messages heard by listening {o.listened} of {o.heard}. "
                     f"{o.notes.strip()}")
    lines.append("")
    (RESULTS / "drills.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter load and faults (a first pass)")
    parser.add_argument("--only", action="append", default=[], help="run only drills whose name contains this")
    parser.add_argument("--no-report", action="store_true", help="print the outcomes, write no report")
    args = parser.parse_args(argv)
    timing = Timing(load_s=30, fault_at_s=8, fault_s=10, burst_s=10) if args.quick else Timing()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = time.monotonic()
    chosen = [d for d in drills(timing) if not args.only or any(o.lower() in d.name.lower() for o in args.only)]
    cfg = ClusterConfig(workdir=ROOT / "var" / "drills", repairs_db="repairs_drills", tracker_db="rasa_tracker_drills",
                        own_services=True,
                        extra_env={"bot": {"WEBCHAT_CLIENT_PER_MINUTE": "6000", "WEBCHAT_CLIENT_BURST": "1000",
                                           "BOT_DELIVERY_IDLE_MAX": "1"}})
    outcomes: list[Outcome] = []
    try:
        with running_cluster(cfg) as cluster:
            population = populate(cluster, chats=timing.telegram_workers * 3,
                                  recipients=int(len(chosen) * (timing.load_s + 60) / timing.outbox_every_s))
            for n, drill in enumerate(chosen):
                outcomes.append(run_drill(cluster, population, drill, timing, seed=n + 1))
                if wait_all := recovery(cluster, time.monotonic(), timeout=300):
                    say(f"  all parts healthy again ({wait_all}s)")
    except KeyboardInterrupt:
        say("Stopped early.")
    if outcomes and not args.no_report:
        write_report(outcomes, timing, time.monotonic() - started,
                     f"{cfg.replicas} of each part behind HAProxy")
        say(f"Report: {RESULTS / 'drills.md'}")
    return 0 if outcomes and all(o.lost == 0 and o.duplicated == 0 for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
