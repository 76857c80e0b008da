"""Listening benchmark (`make bench-listening`), on a PostgreSQL database of its own. A report, not a test:
writes bench/results/listening.md and listening.json.

1. Redaction and storing: broker events (each with a planted name, phone number and reference) through the
   consumer's `store_batch` in batches of 200, as a replica takes them from RabbitMQ: messages per second
   (target >= 200).
2. Themes over 100,000 utterances (target < 60 s): `find_themes`, `save_themes` and the hotspots, as the
   background job runs them, on stored vectors. Encoding
   happens once per utterance as it arrives (timed separately, per message); to load 100,000 vectors without
   encoding 100,000 texts here, 2,000 distinct messages are encoded and each row takes one of their vectors
   with a little noise, which keeps the density structure HDBSCAN sees.
3. The listening page with those 100,000 utterances: p50 / p95 of 60 requests in-process (FastAPI's
   TestClient: no network or server workers), target p95 < 200 ms.

    python -m bench.listening_bench [--utterances 100000] [--out bench/results/listening.md]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import secrets
import statistics
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from pydantic import SecretStr

from bench.api_bench import DEFAULT_PG_ADMIN
from repairs.context import build_context
from repairs.database import transaction, utcnow
from repairs.listening import hotspots, themes
from repairs.listening.consumers import NamesCache, store_batch
from repairs.listening.events import event_key
from repairs.listening.models import Source, Utterance
from repairs.migrate import upgrade
from repairs.settings import PROJECT_ROOT, Settings

PG_DATABASE = "repairs_listening_bench"
SUBJECTS = ["the lift is broken again", "no heating in the {room}", "black mould on the {room} wall",
            "the tap in the {room} keeps dripping", "mice in the {room}", "the window in the {room} won't close",
            "the lights in the {room} flicker", "water coming through the {room} ceiling", "front door lock stuck",
            "the boiler shows an error code", "rubbish left in the stairwell", "the entry phone does not work"]
ROOMS = ["kitchen", "bathroom", "bedroom", "living room", "hallway", "stairwell"]
BLOCKS = [f"Block {c}" for c in "ABCDEFGHIJKLMNOPQRST"]


def _database() -> str:
    admin = sa.create_engine(DEFAULT_PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{PG_DATABASE}"'))
    admin.dispose()
    return DEFAULT_PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def _event(i: int, rng: random.Random) -> str:
    text = (rng.choice(SUBJECTS).format(room=rng.choice(ROOMS))
            + f", I'm Jo Bloggs{i % 97}, call 07700 9{i % 100000:05d}, ref HR-7K3Q9M")
    return json.dumps({"event": "user", "sender_id": f"web:bench-{i % 5000}", "text": text, "message_id": f"b{i}",
                       "timestamp": time.time(), "parse_data": {"intent": {"name": "repair_lifts", "confidence": 0.9}}})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--utterances", type=int, default=100_000)
    parser.add_argument("--store-messages", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results" / "listening.md")
    args = parser.parse_args()
    rng = random.Random(1)
    url = _database()
    upgrade(url)
    settings = Settings(REPAIRS_DATABASE_URL=url, REPAIRS_SECRET_KEY=SecretStr("bench-secret-" + "k" * 24),
                        REPAIRS_API_TOKEN=SecretStr("bench-token-" + "t" * 24), _env_file=None)
    ctx = build_context(settings)
    results: dict[str, object] = {}

    # 1. Redaction and storing.
    events = [_event(i, rng) for i in range(args.store_messages)]
    names = NamesCache()
    started = time.perf_counter()
    for start in range(0, len(events), 200):
        store_batch(ctx, events[start:start + 200], names)
    elapsed = time.perf_counter() - started
    results["store_messages_per_s"] = round(len(events) / elapsed, 1)
    with transaction(ctx.sessions) as session:
        leaked = session.scalar(sa.select(sa.func.count()).select_from(Utterance).where(
            Utterance.text.like("%07700%") | Utterance.text.like("%Bloggs%") | Utterance.text.like("%7K3Q9M%")))
        session.execute(sa.delete(Utterance))
    results["store_leaked_rows"] = int(leaked or 0)

    # 2. Themes over N utterances.
    from repairs_encoder.encoder import SentenceEncoder

    encoder = SentenceEncoder()
    distinct = [rng.choice(SUBJECTS).format(room=rng.choice(ROOMS)) + f" {w}" for w in range(2000)
                for _ in [0]]
    started = time.perf_counter()
    vectors = encoder.encode(distinct)
    results["encode_ms_per_message"] = round((time.perf_counter() - started) * 1000 / len(distinct), 2)
    now = utcnow()
    batch = []
    with transaction(ctx.sessions) as session:
        for i in range(args.utterances):
            k = rng.randrange(len(distinct))
            v = vectors[k] + rng.gauss(0, 0.01)
            v = (v / np.linalg.norm(v)).astype(np.float16)
            batch.append({"event_key": event_key("bench", str(i)), "source": Source.ASSISTANT.value,
                          "channel": "web", "sender_hash": event_key("s", str(i % 20000)), "text": distinct[k],
                          "intent": "report_repair", "category": rng.choice(["lifts", "heating", "damp_mould"]),
                          "confidence": 0.9, "fell_back": i % 50 == 0, "block": rng.choice(BLOCKS),
                          "estate": "Bench Estate", "said_at": now - timedelta(days=rng.uniform(0, 34)),
                          "stored_at": now, "embedding": v.tobytes()})
            if len(batch) == 5000:
                session.execute(sa.insert(Utterance), batch)
                batch = []
        if batch:
            session.execute(sa.insert(Utterance), batch)
    # What autovacuum does after a bulk load, so the planner and the visibility map know the table.
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE listening_utterances"))
    started = time.perf_counter()
    with transaction(ctx.sessions) as session:
        found = themes.find_themes(session, now=now)
    with transaction(ctx.sessions) as session:
        themes.save_themes(session, found, now=now)
        hotspots.refresh(session, now=now)
    results["themes_seconds"] = round(time.perf_counter() - started, 1)
    results["themes_found"] = len(found)
    results["utterances"] = args.utterances

    # 3. The page.
    from fastapi.testclient import TestClient

    from repairs.app import create_app
    from repairs.auth.models import Role
    from repairs.auth.officers import create_officer

    sign_in = secrets.token_urlsafe(18)  # a throwaway officer for this run only
    with transaction(ctx.sessions) as session:
        create_officer(session, email="bench@council.invalid", name="Bench", password=sign_in,
                       role=Role.SUPERVISOR, insight=True)
    timings = []
    with TestClient(create_app(ctx)) as client:
        page = client.get("/officer/login")
        csrf = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
        client.post("/officer/login", data={"csrf_token": csrf.group(1) if csrf else "",
                                            "email": "bench@council.invalid", "password": sign_in})
        for _ in range(60):
            started = time.perf_counter()
            response = client.get("/officer/listening")
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
    timings.sort()
    results["page_p50_ms"] = round(statistics.median(timings), 1)
    results["page_p95_ms"] = round(timings[int(len(timings) * 0.95) - 1], 1)
    ctx.engine.dispose()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    args.out.write_text(
        "# Listening benchmark (`make bench-listening`)\n\n"
        f"PostgreSQL, this machine (2 cores, shared), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
        "| measure | result | target |\n| --- | --- | --- |\n"
        f"| redaction + storing (batches of 200) | {results['store_messages_per_s']} msg/s | >= 200 msg/s |\n"
        f"| planted details found in the store | {results['store_leaked_rows']} rows | 0 |\n"
        f"| encoding (once per message, on arrival) | {results['encode_ms_per_message']} ms/msg | - |\n"
        f"| themes over {args.utterances:,} utterances | {results['themes_seconds']} s "
        f"({results['themes_found']} themes) | < 60 s |\n"
        f"| listening page p50 / p95 (in-process) | {results['page_p50_ms']} / {results['page_p95_ms']} ms "
        "| p95 < 200 ms |\n")
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
