"""A burst of proactive updates: one status change for each of N residents, each on their own Telegram
chat, delivered by the real bot process's delivery worker through the stand-in's flood limit.

The outbox rows are written the way the service writes them: an officer moves each repair to "in
progress" through the officer API (`POST /api/v1/officer/tickets/{ref}/status`), and the service queues
the resident's message in the same transaction. Residents, their linked chats and their repairs are set
up first (people straight into the database as bench/dataset.py does; repairs through the resident API,
which queues nothing). All of that happens before the bot starts, so the worker finds the whole burst
waiting, as after an outage or a mass status change; the time measured is from the first message the
stand-in receives to the last, which leaves the bot's start-up out.

Every chat must get exactly its own message once: a chat that got nothing is lost, a second message
to a chat is a duplicate, and a message naming another chat's repair is misrouted.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa

from bench import dataset, loadgen
from tests.telegram_standin import TelegramStandIn

STATUS = "in_progress"
REPORT = {"category": "plumbing", "description": "The kitchen tap drips all the time and there's water under the sink",
          "location_type": "in_home", "location": "kitchen", "channel": "telegram"}


@dataclass
class Prepared:
    references: dict[int, str]  # chat id -> the repair whose status changed
    residents: list[int]
    setup_s: dict[str, float] = field(default_factory=dict)
    status_changes_per_s: float = 0.0
    pending: int = 0  # outbox rows waiting when the bot starts


@dataclass
class Burst:
    notifications: int
    rate_limit: int
    setup_s: dict[str, float] = field(default_factory=dict)
    status_changes_per_s: float = 0.0
    pending_at_start: int = 0
    received: int = 0  # messages the stand-in received for these chats
    first_to_last_s: float | None = None
    bot_start_to_first_s: float | None = None  # from starting the bot process
    bot_start_to_last_s: float | None = None
    lost: int = 0  # chats that never got their message
    duplicated_chats: int = 0
    duplicates: int = 0  # messages beyond the first in any chat
    misrouted: int = 0  # messages that name another chat's repair
    throttled: int = 0  # 429 answers from the stand-in's flood limit
    busiest_second: int = 0  # most messages received in any one-second window
    outbox_after: dict[str, int] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    machine_busy_pct: float = 0.0
    others_busy_pct: float = 0.0  # of all cores, by processes not the benchmark's
    timed_out: bool = False

    @property
    def floor_s(self) -> float:
        return self.notifications / self.rate_limit

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items()}
        out["floor_s"] = round(self.floor_s, 2)
        out["vs_floor"] = round(self.first_to_last_s / self.floor_s, 3) if self.first_to_last_s else None
        for key in ("first_to_last_s", "bot_start_to_first_s", "bot_start_to_last_s"):
            out[key] = round(out[key], 2) if out[key] is not None else None
        return out


def _api(base_url: str, name: str, make: Callable[[int], loadgen.Call], count: int, expected: int) -> loadgen.Result:
    result = loadgen.run(base_url, name, make, requests=count, concurrency=4, expected_status=expected, timeout=60)
    if result.errors:
        raise RuntimeError(f"{name}: {dict(result.errors)} {result.error_samples[:2]}")
    return result


def prepare(repairs_url: str, service_token: str, database_url: str, count: int, seed: int) -> Prepared:
    """`count` tenants with linked Telegram chats and one repair each, each repair moved on by an officer,
    so `count` messages wait in the outbox."""
    engine = dataset.engine_for(database_url)
    try:
        started = time.perf_counter()
        people = dataset.load_people(engine, residents=count, rng=random.Random(seed))
        dataset.make_officer(engine)
        setup = {"residents_s": time.perf_counter() - started}

        def report(i: int) -> loadgen.Call:
            headers = {"Authorization": f"Bearer {service_token}", "X-Resident-Channel": people[i].chat,
                       "Idempotency-Key": str(uuid.uuid4())}
            return loadgen.Call("POST", "/api/v1/tickets", headers, json=REPORT)

        setup["repairs_s"] = _api(repairs_url, "repairs reported", report, count, 201).wall_s
        with httpx.Client(base_url=repairs_url, trust_env=False, timeout=30) as client:
            response = client.post("/api/v1/auth/token", json={"email": dataset.OFFICER_EMAIL,
                                                               "password": dataset.OFFICER_PASSWORD})
            response.raise_for_status()
            officer = {"Authorization": f"Bearer {response.json()['access_token']}"}
        ids = [p.id for p in people]
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT resident_id, reference FROM tickets WHERE resident_id = ANY(:ids)"),
                                {"ids": ids}).all()
        by_resident = {int(r[0]): str(r[1]) for r in rows}
        references = {int(p.external_id): by_resident[p.id] for p in people}
        refs = [by_resident[p.id] for p in people]

        def move_on(i: int) -> loadgen.Call:
            return loadgen.Call("POST", f"/api/v1/officer/tickets/{refs[i]}/status", officer, json={"status": STATUS})

        changes = _api(repairs_url, "status changes", move_on, count, 200)
        setup["status_changes_s"] = changes.wall_s
        prepared = Prepared(references, ids, {k: round(v, 2) for k, v in setup.items()},
                            round(changes.throughput, 1))
        prepared.pending = outbox_counts(engine, ids).get("pending", 0)
        return prepared
    finally:
        engine.dispose()


def outbox_counts(engine: sa.Engine, residents: list[int]) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM notification_outbox WHERE resident_id = ANY(:ids) "
                                    "GROUP BY status"), {"ids": residents}).all()
    return {str(r[0]): int(r[1]) for r in rows}


def busiest_second(times: list[float]) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def watch(tg: TelegramStandIn, prepared: Prepared, database_url: str, *, bot_started_at: float, before: dict[int, int],
          throttled_before: int, timeout: float, settle: float) -> Burst:
    """Wait until every chat has its message (or `timeout`), then `settle` seconds more for any late
    duplicate and for the outbox to record every send; then count."""
    chats = list(prepared.references)
    burst = Burst(len(chats), tg.flood_limit or 0, prepared.setup_s, prepared.status_changes_per_s,
                  prepared.pending)
    deadline = bot_started_at + timeout
    while time.monotonic() < deadline:
        if all(len(tg.sent(chat)) > before.get(chat, 0) for chat in chats):
            break
        time.sleep(0.5)
    else:
        burst.timed_out = True
    engine = sa.create_engine(database_url)
    try:
        settle_until = time.monotonic() + settle
        while time.monotonic() < settle_until or (
                outbox_counts(engine, prepared.residents).get("pending", 0)
                and time.monotonic() < deadline + settle):
            time.sleep(0.5)
        burst.outbox_after = outbox_counts(engine, prepared.residents)
    finally:
        engine.dispose()
    received: list[float] = []
    for chat, reference in prepared.references.items():
        messages = tg.sent(chat)[before.get(chat, 0):]
        received += [m.sent_at for m in messages]
        if not messages:
            burst.lost += 1
        if len(messages) > 1:
            burst.duplicated_chats += 1
            burst.duplicates += len(messages) - 1
        burst.misrouted += sum(1 for m in messages if reference not in m.body)
    burst.received = len(received)
    burst.throttled = tg.throttled - throttled_before
    if received:
        first, last = min(received), max(received)
        burst.first_to_last_s = last - first
        burst.bot_start_to_first_s = first - bot_started_at
        burst.bot_start_to_last_s = last - bot_started_at
        burst.busiest_second = busiest_second(received)
    return burst
