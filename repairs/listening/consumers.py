"""Where the assistant's events come from: Rasa's event broker, read by each repairs replica.

- `PikaConsumer` (production, docker-compose): a RabbitMQ queue that Rasa's pika broker publishes to (through
  its fanout exchange). Replicas are competing consumers on one queue; a batch is acknowledged only once
  stored, so a replica that dies mid-batch leaves it to be redelivered, and the unique event key makes the
  redelivery harmless.
- `SqlBrokerConsumer` (`make demo`): the table Rasa's SQL broker writes (`events`: id, sender_id, data). Rows
  are read in id order, stored, then deleted, so the raw events do not pile up beside the redacted store;
  two replicas reading the same rows store them once.

Both hand each batch to `store_batch`, which keeps only residents' typed messages, redacted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.listening.events import HeardMessage, read_event
from repairs.listening.redaction import KnownNames
from repairs.listening.store import known_names, store_heard

log = logging.getLogger(__name__)

BATCH = 200
# Rasa's pika broker publishes to this fanout exchange unless told otherwise (rasa.core.brokers.pika).
RASA_EXCHANGE = "rasa-exchange"
NAMES_REFRESH_SECONDS = 300.0


class NamesCache:
    """Residents' names for redaction, re-read every few minutes: a new resident's name is redacted from
    at most that long after they are added (their own name is always redacted, read with the message)."""

    def __init__(self, refresh_seconds: float = NAMES_REFRESH_SECONDS) -> None:
        self._refresh = refresh_seconds
        self._names: KnownNames | None = None
        self._read_at = 0.0

    def get(self, ctx: ServiceContext) -> KnownNames:
        if self._names is None or time.monotonic() - self._read_at > self._refresh:
            with transaction(ctx.sessions) as session:
                self._names = known_names(session)
            self._read_at = time.monotonic()
        return self._names


def listening_secret(ctx: ServiceContext) -> bytes:
    key = ctx.settings.secret_key
    if key is None or not key.get_secret_value():
        raise RuntimeError("listening needs REPAIRS_SECRET_KEY to key the chats it stores")
    return key.get_secret_value().encode()


def store_batch(ctx: ServiceContext, raw_events: Sequence[bytes | str], names: NamesCache) -> int:
    """Store the residents' messages among `raw_events`; returns how many were new."""
    heard: list[HeardMessage] = [m for m in (read_event(raw) for raw in raw_events) if m is not None]
    if not heard:
        return 0
    secret = listening_secret(ctx)
    known = names.get(ctx)
    with transaction(ctx.sessions) as session:
        return store_heard(session, heard, secret=secret, names=known)


@dataclass
class SqlBrokerConsumer:
    """Reads and empties the `events` table of Rasa's SQL event broker."""

    ctx: ServiceContext
    url: str
    names: NamesCache

    def __post_init__(self) -> None:
        self._engine = sa.create_engine(self.url, pool_pre_ping=True)
        self._events = sa.table("events", sa.column("id", sa.Integer), sa.column("sender_id", sa.String),
                                sa.column("data", sa.Text))

    def poll_once(self) -> int:
        """One batch: returns how many events were taken off the table (0: nothing waiting)."""
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(sa.select(self._events.c.id, self._events.c.data)
                                    .order_by(self._events.c.id).limit(BATCH)).all()
        except SQLAlchemyError:
            if not sa.inspect(self._engine).has_table("events"):
                return 0  # Rasa has not written its first event yet
            raise
        if not rows:
            return 0
        store_batch(self.ctx, [r.data for r in rows if r.data], self.names)
        with self._engine.begin() as conn:
            conn.execute(sa.delete(self._events).where(self._events.c.id.in_([r.id for r in rows])))
        return len(rows)

    def run(self, stop: threading.Event, every: float) -> None:
        while not stop.is_set():
            try:
                while self.poll_once() == BATCH and not stop.is_set():
                    pass
            except SQLAlchemyError as exc:  # either database away for a moment: the next poll catches up
                log.warning("listening: reading the SQL broker failed: %s", type(exc).__name__)
            stop.wait(every)

    def close(self) -> None:
        self._engine.dispose()


@dataclass
class PikaConsumer:
    """Consumes the RabbitMQ queue Rasa's pika broker publishes to."""

    ctx: ServiceContext
    url: str
    queue: str
    names: NamesCache
    exchange: str = RASA_EXCHANGE

    def _connect(self) -> tuple[Any, Any]:
        import pika

        parameters = pika.URLParameters(self.url)
        parameters.socket_timeout = 10
        parameters.blocked_connection_timeout = 30
        parameters.connection_attempts = 1
        connection = pika.BlockingConnection(parameters)
        channel = connection.channel()
        # Declared as Rasa's broker declares them, so whichever starts first makes them and the other
        # agrees; bound here too, so events published before Rasa's own binding are not lost.
        channel.exchange_declare(self.exchange, exchange_type="fanout")
        channel.queue_declare(self.queue, durable=True)
        channel.queue_bind(self.queue, self.exchange)
        channel.basic_qos(prefetch_count=BATCH)
        return connection, channel

    def consume(self, stop: Callable[[], bool], *, idle_seconds: float = 0.5) -> int:
        """Consume until `stop()` says so; returns how many events were acknowledged."""
        connection, channel = self._connect()
        taken = 0
        try:
            pending: list[bytes] = []
            last_tag = 0
            for method, _properties, body in channel.consume(self.queue, inactivity_timeout=idle_seconds):
                if method is not None:
                    pending.append(body)
                    last_tag = method.delivery_tag
                if pending and (method is None or len(pending) >= BATCH):
                    store_batch(self.ctx, pending, self.names)
                    channel.basic_ack(delivery_tag=last_tag, multiple=True)
                    taken += len(pending)
                    pending = []
                if method is None and stop():
                    break
            channel.cancel()
        finally:
            if connection.is_open:
                connection.close()
        return taken

    def run(self, stop: threading.Event, every: float) -> None:
        while not stop.is_set():
            try:
                self.consume(stop.is_set)
            except Exception as exc:
                log.warning("listening: consuming from RabbitMQ failed: %s", type(exc).__name__)
                stop.wait(every)

    def close(self) -> None:
        return None


def build_consumer(ctx: ServiceContext) -> SqlBrokerConsumer | PikaConsumer | None:
    settings = ctx.settings
    names = NamesCache()
    if settings.listening_broker == "sql":
        if not settings.listening_sql_url:
            raise RuntimeError("REPAIRS_LISTENING_BROKER=sql needs REPAIRS_LISTENING_SQL_URL")
        return SqlBrokerConsumer(ctx, settings.listening_sql_url, names)
    if settings.listening_broker == "pika":
        return PikaConsumer(ctx, settings.listening_amqp_url.get_secret_value(), settings.listening_queue, names)
    return None
