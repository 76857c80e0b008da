"""Listening's consumers against the real brokers: RabbitMQ (the production path: a real Rasa server with a
pika event broker, through the signed channel, to the repairs store) and the table of Rasa's SQL broker
(`make demo`'s path). Each test uses a queue and exchange of its own on the local RabbitMQ."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pika
import pytest
import sqlalchemy as sa
import yaml
from repairs_common import turn_signing

from evaluation.rasa_process import ROOT, free_port, rasa_server, train
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.listening.consumers import NamesCache, PikaConsumer, SqlBrokerConsumer
from repairs.listening.models import Utterance
from tests.factories import Factory
from tests.test_listening_store import PLANTED, SECRETS, user_event

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture
def amqp_names() -> Iterator[tuple[str, str]]:
    """A queue and exchange of this test's own, deleted afterwards."""
    suffix = uuid.uuid4().hex[:10]
    queue, exchange = f"listening-test-{suffix}", f"listening-test-exchange-{suffix}"
    try:
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except pika.exceptions.AMQPError as exc:
        pytest.fail(f"RabbitMQ is needed on 127.0.0.1:5672 (guest/guest): {exc!r}")
    connection.close()
    yield queue, exchange
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.queue_delete(queue)
    channel.exchange_delete(exchange)
    connection.close()


def _publish(exchange: str, bodies: list[str]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.exchange_declare(exchange, exchange_type="fanout")
    for body in bodies:
        channel.basic_publish(exchange, "", body.encode())
    connection.close()


def _queued(queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    count = connection.channel().queue_declare(queue, durable=True, passive=True).method.message_count
    connection.close()
    return int(count)


def _stored(ctx: ServiceContext) -> list[Utterance]:
    with transaction(ctx.sessions) as session:
        return list(session.scalars(sa.select(Utterance).order_by(Utterance.id)))


def _consume_until_idle(consumer: PikaConsumer) -> int:
    idle = {"n": 0}

    def stop() -> bool:
        idle["n"] += 1
        return idle["n"] >= 3  # three quiet half-seconds in a row

    return consumer.consume(stop)


def test_rabbitmq_events_are_stored_once_and_acknowledged(ctx: ServiceContext, amqp_names: tuple[str, str]) -> None:
    queue, exchange = amqp_names
    consumer = PikaConsumer(ctx, AMQP_URL, queue, NamesCache(), exchange=exchange)
    consumer.consume(lambda: True)  # declares and binds the queue, as at a replica's start
    event = user_event("web:visitor-9", PLANTED, message_id="redelivered")
    bot = json.dumps({"event": "bot", "sender_id": "web:visitor-9", "text": "Sorry to hear that."})
    _publish(exchange, [event, bot, event])
    assert _consume_until_idle(consumer) == 3
    assert _queued(queue) == 0
    [row] = _stored(ctx)
    for secret in SECRETS:
        assert secret not in row.text
    # Published again later (a replica died before acknowledging): still one row.
    _publish(exchange, [event])
    _consume_until_idle(consumer)
    assert len(_stored(ctx)) == 1


def test_the_sql_brokers_table_is_read_and_emptied(ctx: ServiceContext, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    consumer = SqlBrokerConsumer(ctx, url, NamesCache())
    assert consumer.poll_once() == 0  # no table yet: Rasa has not started
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the table as Rasa's SQL broker makes it (rasa.core.brokers.sql)
        conn.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), data TEXT)"))
        for i, text in enumerate(["the lift is broken, I'm Bernadette Okonkwo", "no heating"]):
            conn.execute(sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"),
                         {"s": "web:x", "d": user_event("web:x", text, message_id=f"m{i}")})
    assert consumer.poll_once() == 2
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == 0
    engine.dispose()
    consumer.close()
    assert sorted(u.text for u in _stored(ctx)) == ["no heating", "the lift is broken, I'm [NAME]"]


def test_a_real_rasa_turn_reaches_the_store_redacted(ctx: ServiceContext, factory: Factory, tmp_path: Path,
                                                     amqp_names: tuple[str, str]) -> None:
    """The whole path: the bot's signed turn -> Rasa -> its pika event broker -> RabbitMQ -> the consumer."""
    queue, exchange = amqp_names
    resident = factory.resident(name="Bernadette Okonkwo", block="Bramley House", estate="Castlehaven Estate")
    consumer = PikaConsumer(ctx, AMQP_URL, queue, NamesCache(), exchange=exchange)
    consumer.consume(lambda: True)
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{free_port()}/webhook"  # no action needed here
    endpoints["tracker_store"]["db"] = str(tmp_path / "tracker.db")
    endpoints["event_broker"] = {"type": "pika", "url": "127.0.0.1", "username": "guest", "password": "guest",
                                 "queues": [queue], "exchange_name": exchange}
    endpoints_file = tmp_path / "endpoints.yml"
    endpoints_file.write_text(yaml.safe_dump(endpoints))
    model = train(ROOT / "models").path
    with rasa_server(model, endpoints=endpoints_file, log_file=tmp_path / "rasa.log", timeout=300) as rasa:
        body, headers = turn_signing.signed_request(rasa.channel_secret, resident.chat, PLANTED, {}, typed=True)
        reply = httpx.post(f"{rasa.url}{turn_signing.WEBHOOK_PATH}", content=body, headers=headers, timeout=60)
        assert reply.status_code == 200, (tmp_path / "rasa.log").read_text()[-3000:]
        deadline = time.monotonic() + 30
        while not _stored(ctx) and time.monotonic() < deadline:
            _consume_until_idle(consumer)
    rows = _stored(ctx)
    assert len(rows) == 1, (tmp_path / "rasa.log").read_text()[-3000:]
    [row] = rows
    for secret in SECRETS:
        assert secret not in row.text
    assert "lift is broken" in row.text and "[PHONE]" in row.text and "[REF]" in row.text
    assert row.block == "Bramley House" and row.resident_id == resident.id and row.channel == "telegram"
    assert row.intent is not None and row.confidence is not None
