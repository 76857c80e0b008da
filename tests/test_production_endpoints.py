"""endpoints.production.yml works with a real Rasa: conversations land in PostgreSQL, in a database and role
made by the compose stack's init script (docker/postgres/10-rasa-tracker.sh), each turn takes its lock
in Redis, and the signed channel keeps its used nonces in Redis as compose configures it, so a replayed turn
is refused. There is no Docker engine here, so this is the closest check of what the rasa container runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pika
import pytest
import sqlalchemy as sa
from repairs_common import turn_signing

from evaluation.rasa_process import (
    RASA_BIN,
    ROOT,
    channel_env,
    free_port,
    managed_process,
    rasa_env,
    train,
    wait_until_ready,
)

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
INIT_SCRIPT = ROOT / "docker" / "postgres" / "10-rasa-tracker.sh"
REDIS_PORT = 6379  # endpoints.production.yml names the port, as compose's redis service uses it


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The local Redis, or one started for this module when none runs."""
    if _listening(REDIS_PORT):
        yield
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("Redis is needed on 127.0.0.1:6379 (or redis-server on PATH) for the lock store")
    workdir = tmp_path_factory.mktemp("redis")
    with managed_process([server, "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--save", "",
                          "--dir", str(workdir)], dict(os.environ), workdir / "redis.log") as process:
        wait_until_ready(process, lambda: _listening(REDIS_PORT), "redis", 30)
        yield


@pytest.fixture(scope="module")
def tracker_database() -> Iterator[tuple[str, str]]:
    """A tracker database and role made by the compose init script, against the test PostgreSQL."""
    url = sa.engine.make_url(PG_ADMIN_URL)
    name = f"rasa_tracker_test_{os.getpid()}"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGHOST": url.host or "127.0.0.1",
           "PGPORT": str(url.port or 5432), "POSTGRES_USER": url.username or "postgres",
           "POSTGRES_DB": url.database or "postgres", "RASA_TRACKER_DB": name, "RASA_TRACKER_DB_USER": name,
           "RASA_TRACKER_DB_PASSWORD": "test-tracker-password"}
    result = subprocess.run(["/bin/sh", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            owner, public_can_connect = conn.execute(sa.text(
                "SELECT pg_get_userbyid(datdba), has_database_privilege('public', datname, 'CONNECT') "
                "FROM pg_database WHERE datname = :n"), {"n": name}).one()
        assert owner == name and public_can_connect is False
        yield name, str(url.set(database=name, username=name))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


def _redis_cli() -> str:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.fail("redis-cli is needed to watch the lock store")
    return cli


def test_the_init_script_refuses_to_run_without_a_password(tmp_path: Path) -> None:
    result = subprocess.run(["/bin/sh", str(INIT_SCRIPT)], env={"PATH": "/nonexistent"}, capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode != 0 and "RASA_TRACKER_DB_PASSWORD" in result.stderr


def test_rasa_with_the_production_endpoints_keeps_conversations_in_postgresql(redis, tracker_database, tmp_path):
    name, tracker_url = tracker_database
    url = sa.engine.make_url(PG_ADMIN_URL)
    model = train(ROOT / "models").path
    port, token = free_port(), "production-endpoints-test-token"
    secret = "production-channel-secret-" + "p" * 32
    env = rasa_env()
    env.update({
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}/webhook",  # a greeting needs no action
        "ACTION_SERVER_TOKEN": "a" * 64,
        "TRACKER_DB_HOST": url.host or "127.0.0.1", "TRACKER_DB": name, "TRACKER_DB_USER": name,
        "TRACKER_DB_PASSWORD": "test-tracker-password",
        "REDIS_HOST": "127.0.0.1", "REDIS_PASSWORD": "",
        # As docker-compose.yml builds it (redis://:${REDIS_PASSWORD}@redis:6379/2), for this Redis.
        **channel_env(secret, f"redis://:@127.0.0.1:{REDIS_PORT}/2"),
        # The local RabbitMQ, with a queue of this test's own (deleted below).
        "RABBITMQ_HOST": "127.0.0.1", "RABBITMQ_USER": "guest", "RABBITMQ_PASSWORD": "guest",
        "RABBITMQ_QUEUE": f"production-endpoints-test-{time.time_ns()}",
    })
    command = [str(RASA_BIN), "run", "--model", str(model), "--enable-api", f"--auth-token={token}",
               "--interface", "127.0.0.1", "--port", str(port), "--credentials", str(ROOT / "credentials.yml"),
               "--endpoints", str(ROOT / "endpoints.production.yml")]
    sender = f"web:production-endpoints-{time.time_ns()}"
    log = tmp_path / "rasa.log"
    with managed_process(command, env, log) as process:
        try:
            wait_until_ready(process, lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200,
                             "Rasa", 240)
        except RuntimeError:
            pytest.fail(log.read_text()[-3000:])
        # Watch Redis while the turn runs: Rasa takes and frees the conversation's lock there.
        monitor_log = tmp_path / "redis-monitor.log"
        with managed_process([_redis_cli(), "-h", "127.0.0.1", "-p", str(REDIS_PORT), "monitor"], dict(os.environ),
                             monitor_log):
            time.sleep(0.5)
            body, headers = turn_signing.signed_request(secret, sender, "hello", {}, typed=True)
            webhook = f"http://127.0.0.1:{port}{turn_signing.WEBHOOK_PATH}"
            reply = httpx.post(webhook, content=body, headers=headers, timeout=60)
            replayed = httpx.post(webhook, content=body, headers=headers, timeout=60)
            time.sleep(0.5)
        assert reply.status_code == 200 and reply.json(), log.read_text()[-3000:]
        monitored = monitor_log.read_text()
        assert f'"lock:{sender}"' in monitored, "the turn took no lock in Redis"
        # The turn's nonce, set once in Redis's database 2 with an expiry; the replay is refused.
        nonce = json.loads(body)["nonce"]
        assert re.search(rf'\[2 [^\]]*\] "SET" "signed-channel:nonce:{nonce}" "1" "EX" "\d+" "NX"', monitored), \
            monitored[-2000:]
        assert replayed.status_code == 401

    engine = sa.create_engine(tracker_url)
    try:
        with engine.connect() as conn:
            events = conn.execute(sa.text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar()
    finally:
        engine.dispose()
    assert events and events >= 2  # at least the user's message and the bot's reply
    # ...and every event went to RabbitMQ too (the event broker), for the repairs service's listening page.
    connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
    try:
        channel = connection.channel()
        queued = channel.queue_declare(env["RABBITMQ_QUEUE"], durable=True, passive=True).method.message_count
        channel.queue_delete(env["RABBITMQ_QUEUE"])
    finally:
        connection.close()
    assert queued >= 2
