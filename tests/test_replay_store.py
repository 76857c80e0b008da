"""The signed channel's replay stores (rasa_channel/replay.py) in Rasa's own Python, against a real Redis, a
real PostgreSQL and a SQLite file: of two replicas claiming one nonce at once, exactly one wins, and a store
that cannot answer refuses rather than lets a turn through."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from evaluation.rasa_process import RASA_PYTHON, ROOT, free_port, rasa_env

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Runs in .venv-rasa (Python 3.10, SQLAlchemy 1.4, redis-py 4): what Rasa itself runs the stores with.
SCRIPT = """
import asyncio, json, secrets, sys, time
from rasa_channel.replay import ReplayStoreUnavailable, replay_store_from_url

async def main(url):
    replicas = [replay_store_from_url(url) for _ in range(2)]  # two Rasa replicas: two pools, one store
    nonce = secrets.token_hex(16)
    window = time.time() + 60
    at_once = await asyncio.gather(*(replicas[i % 2].claim(nonce, window) for i in range(6)))
    again = await replicas[1].claim(nonce, window)
    other = await replicas[0].claim(secrets.token_hex(16), window)
    for store in replicas:
        await store.close()
    print(json.dumps({"at_once": at_once, "again": again, "other": other, "type": type(replicas[0]).__name__}))

async def unavailable(url):
    store = replay_store_from_url(url)
    try:
        await store.claim(secrets.token_hex(16), time.time() + 60)
    except ReplayStoreUnavailable as exc:
        print(json.dumps({"refused": str(exc)}))
        return
    print(json.dumps({"refused": None}))

async def contended(url):
    # Another connection holds SQLite's write lock for longer than one statement waits: the claim must wait its
    # turn and win, not refuse the resident's turn.
    import sqlite3, threading
    import rasa_channel.replay as replay
    replay.SQLITE_BUSY_TIMEOUT = 0.05
    store = replay_store_from_url(url)
    assert await store.claim(secrets.token_hex(16), time.time() + 60)  # the table exists now
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(0.6, lambda: holder.execute("COMMIT"))
    releaser.start()
    started = time.monotonic()
    won = await store.claim(secrets.token_hex(16), time.time() + 60)
    waited = time.monotonic() - started
    releaser.join()
    await store.close()
    print(json.dumps({"won": won, "waited_past_the_lock": waited >= 0.5}))

async def dropped(url):
    # Redis restarted: the connections the store's pool holds are dead. The next claims reconnect, not refuse.
    import redis
    store = replay_store_from_url(url)
    await asyncio.gather(*(store.claim(secrets.token_hex(16), time.time() + 60) for _ in range(4)))
    pool = store._client.connection_pool
    mine = {"%s:%s" % c._writer.get_extra_info("sockname")[:2] for c in pool._available_connections}
    with redis.Redis.from_url(url, socket_timeout=2) as admin:
        killed = [admin.client_kill_filter(_id=c["id"]) for c in admin.client_list() if c["addr"] in mine]
    claims = await asyncio.gather(*(store.claim(secrets.token_hex(16), time.time() + 60) for _ in range(4)),
                                  return_exceptions=True)
    await store.close()
    print(json.dumps({"killed": len(killed), "claims": [c if isinstance(c, bool) else type(c).__name__
                                                         for c in claims]}))

modes = {"down": unavailable, "contended": contended, "dropped": dropped}
asyncio.run(modes.get(sys.argv[1], main)(sys.argv[2]))
"""


def run_script(mode: str, url: str) -> dict[str, object]:
    result = subprocess.run([str(RASA_PYTHON), "-c", SCRIPT, mode, url], cwd=ROOT, env=rasa_env(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    name = f"replay_store_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_ADMIN_URL).set(drivername="postgresql", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _one_claim_wins(outcome: dict[str, object], store: str) -> None:
    assert outcome["type"] == store
    assert sorted(outcome["at_once"]) == [False] * 5 + [True]  # type: ignore[arg-type]
    assert outcome["again"] is False and outcome["other"] is True


def test_redis_lets_one_replica_claim_a_nonce() -> None:
    _one_claim_wins(run_script("claim", REDIS_URL), "RedisReplayStore")


def test_postgresql_lets_one_replica_claim_a_nonce(postgres_url: str) -> None:
    _one_claim_wins(run_script("claim", postgres_url), "SQLReplayStore")


def test_sqlite_lets_one_replica_claim_a_nonce(tmp_path) -> None:
    _one_claim_wins(run_script("claim", f"sqlite:///{tmp_path / 'rasa-tracker.db'}"), "SQLReplayStore")


def test_sqlite_claim_waits_out_a_lock_held_longer_than_its_busy_timeout(tmp_path) -> None:
    # CI once refused a claim with "database is locked" under full load: contention is ours to wait out.
    outcome = run_script("contended", f"sqlite:///{tmp_path / 'rasa-tracker.db'}")
    assert outcome == {"won": True, "waited_past_the_lock": True}


def test_redis_connections_dropped_by_a_restart_are_replaced_not_refused() -> None:
    outcome = run_script("dropped", REDIS_URL)
    assert outcome["killed"]
    assert outcome["claims"] == [True] * 4, "a dead pooled connection refused a resident's turn"


@pytest.mark.parametrize("kind", ["redis", "postgresql"])
def test_a_store_that_cannot_answer_refuses(kind: str) -> None:
    port = free_port()  # nothing listens there
    url = f"redis://127.0.0.1:{port}/0" if kind == "redis" else f"postgresql://postgres@127.0.0.1:{port}/x"
    assert run_script("down", url)["refused"]
