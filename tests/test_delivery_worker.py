"""The bot's delivery worker against the real repairs service (over HTTP), with a recording sender behind
the same interface as the Telegram one, and the Telegram sender against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import httpx
import pytest
import redis
from sqlalchemy import select

from bot.delivery import (
    DeliveryError,
    DeliveryWorker,
    FloodControl,
    PermanentDeliveryError,
    RetryableDeliveryError,
    TelegramSender,
    build_worker,
)
from bot.delivery_settings import DeliverySettings
from bot.outbox_client import OutboxClient, OutboxUnavailable
from bot.rasa_gateway import Button
from bot.sent_record import RedisSentRecord
from bot.settings import BotSettings
from evaluation.rasa_process import free_port
from repairs.app import create_app
from repairs.database import transaction
from repairs.notifications.models import Notification, OutboxStatus
from repairs.notifications.outbox import enqueue
from tests.conftest import SERVICE_TOKEN
from tests.serving import serving
from tests.telegram_standin import TelegramStandIn

# Short enough for tests, and the send timeout well inside the lease, as the worker requires.
FAST = {"BOT_DELIVERY_LEASE_SECONDS": 2, "BOT_DELIVERY_SEND_TIMEOUT": 0.5, "BOT_DELIVERY_IDLE_MIN": 0.05,
        "BOT_DELIVERY_IDLE_MAX": 0.2, "BOT_DELIVERY_OUTAGE_MAX": 0.5, "BOT_DELIVERY_PER_CHAT_INTERVAL": 0.05}


def delivery_settings(**overrides: object) -> DeliverySettings:
    return DeliverySettings(**{**FAST, **overrides}, _env_file=None)  # type: ignore[arg-type]


@dataclass
class Sent:
    external_id: str
    text: str
    buttons: tuple[Button, ...]


@dataclass
class RecordingSender:
    """A channel that records what it was asked to send; `script` makes the next sends fail."""

    sent: list[Sent] = field(default_factory=list)
    calls: int = 0
    script: list[DeliveryError | None] = field(default_factory=list)
    edits: list[tuple[str, str, tuple[Button, ...]]] = field(default_factory=list)

    async def send(self, external_id: str, text: str, buttons: Sequence[Button]) -> str | None:
        self.calls += 1
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        self.sent.append(Sent(external_id, text, tuple(buttons)))
        return str(len(self.sent))

    async def edit_buttons(self, external_id: str, message_id: str, buttons: Sequence[Button]) -> None:
        self.edits.append((external_id, message_id, tuple(buttons)))


class LosingAcks(OutboxClient):
    """The real client, except that the first `lose` acknowledgements of a send never arrive."""

    def __init__(self, *args: object, lose: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lose = lose
        self.claims: list[list[int]] = []

    async def claim(self, channels, *, limit, lease_seconds):  # type: ignore[no-untyped-def]
        items = await super().claim(channels, limit=limit, lease_seconds=lease_seconds)
        if items:
            self.claims.append([i.id for i in items])
        return items

    async def sent(self, note_id: int, *, message_id: str | None = None) -> None:
        if self.lose > 0:
            self.lose -= 1
            raise OutboxUnavailable("ConnectError")
        await super().sent(note_id, message_id=message_id)


# -- helpers -----------------------------------------------------------------------------------------


def report(url: str, res) -> str:
    r = httpx.post(f"{url}/api/v1/tickets", headers={**res.headers, "Idempotency-Key": uuid.uuid4().hex},
                   json={"category": "plumbing", "description": "The kitchen tap drips", "location": "kitchen"},
                   timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["reference"]


def set_status(url: str, officer, ref: str, status: str) -> None:
    r = httpx.post(f"{url}/api/v1/officer/tickets/{ref}/status", headers=officer.headers,
                   json={"status": status}, timeout=30)
    assert r.status_code == 200, r.text


def outbox_rows(ctx) -> list[Notification]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(select(Notification).order_by(Notification.id)))


def all_settled(ctx) -> bool:
    return all(n.status != OutboxStatus.PENDING for n in outbox_rows(ctx))


async def run_worker(worker: DeliveryWorker, until: Callable[[], bool], *, timeout: float = 20) -> None:
    """Run the worker until `until()` holds (checked off the event loop: it may query the database)."""
    worker.start()
    try:
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(until):
            assert time.monotonic() < deadline, "the worker did not get there in time"
            await asyncio.sleep(0.05)
    finally:
        await worker.stop(timeout=10)


def worker_for(url: str, sender, *, outbox: OutboxClient | None = None, **settings: object) -> DeliveryWorker:
    client = outbox or OutboxClient(url, SERVICE_TOKEN, timeout=5)
    return DeliveryWorker(client, {"telegram": sender}, delivery_settings(**settings))


def with_delays(ctx, *delays: float) -> None:
    ctx.settings = ctx.settings.model_copy(update={"outbox_retry_delays_seconds": tuple(delays)})


# -- delivery ----------------------------------------------------------------------------------------


def test_each_update_reaches_the_resident_once_in_order(live_server, factory, ctx):
    officer, res = factory.officer(), factory.resident()
    ref = report(live_server.url, res)
    for status in ("triaged", "in_progress", "completed"):
        set_status(live_server.url, officer, ref, status)
    sender = RecordingSender()
    asyncio.run(run_worker(worker_for(live_server.url, sender), lambda: all_settled(ctx)))
    assert [s.external_id for s in sender.sent] == [res.chat.split(":", 1)[1]] * 3
    assert ["looked at" in sender.sent[0].text, "started" in sender.sent[1].text,
            "Is it fixed?" in sender.sent[2].text] == [True, True, True]
    assert all(ref in s.text for s in sender.sent)
    assert [b.payload.split("{")[0] for b in sender.sent[2].buttons] == ["/rate_repair", "/reopen_repair"]
    assert {n.status for n in outbox_rows(ctx)} == {OutboxStatus.SENT}


def test_a_lost_acknowledgement_never_sends_twice(live_server, factory, ctx):
    res = factory.resident()
    officer = factory.officer()
    ref = report(live_server.url, res)
    set_status(live_server.url, officer, ref, "triaged")
    sender = RecordingSender()
    # Every acknowledgement is lost until the lease (2 s) has run out and the row is claimed again.
    outbox = LosingAcks(live_server.url, SERVICE_TOKEN, timeout=5, lose=10_000)
    worker = worker_for(live_server.url, sender, outbox=outbox)

    async def scenario() -> None:
        worker.start()
        try:
            deadline = time.monotonic() + 20
            while len(outbox.claims) < 2:  # the same row, leased a second time
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            outbox.lose = 0  # the service hears acknowledgements again
            while not await asyncio.to_thread(all_settled, ctx):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        finally:
            await worker.stop()

    asyncio.run(scenario())
    assert outbox.claims[0] == outbox.claims[1]
    assert len(sender.sent) == 1, "the resident saw the message twice"
    [note] = outbox_rows(ctx)
    assert note.status == OutboxStatus.SENT
    assert note.attempts >= 2


def test_the_window_left_a_worker_that_dies_before_its_acknowledgement(live_server, factory, ctx):
    """The documented window: Telegram took the message, then the process died before the service heard.
    A fresh worker (nothing in memory) sends it again once the lease runs out. This is why the module
    promises 'once as the resident sees it' except in that window, and no more."""
    res = factory.resident()
    officer = factory.officer()
    ref = report(live_server.url, res)
    set_status(live_server.url, officer, ref, "triaged")
    first, second = RecordingSender(), RecordingSender()
    dying = worker_for(live_server.url, first, outbox=LosingAcks(live_server.url, SERVICE_TOKEN, lose=10_000))

    async def scenario() -> None:
        await run_worker(dying, lambda: bool(first.sent), timeout=10)  # stops with its acknowledgement unsent
        assert dying.unacknowledged == 1
        await run_worker(worker_for(live_server.url, second), lambda: all_settled(ctx))

    asyncio.run(scenario())
    assert len(first.sent) == len(second.sent) == 1


REDIS_URL = "redis://127.0.0.1:6379/0"


def test_a_shared_sent_record_keeps_another_replica_from_sending_again(live_server, factory, ctx):
    """The drills' duplicate: one bot sent a message, the repairs service was down past the row's lease so the
    acknowledgement never landed, and the other bot claimed the row and sent it again. With the replicas'
    record of sent messages in Redis, the second worker acknowledges it instead."""
    res = factory.resident()
    officer = factory.officer()
    ref = report(live_server.url, res)
    set_status(live_server.url, officer, ref, "triaged")
    prefix = f"test-sent-record:{uuid.uuid4().hex}:"
    first, second = RecordingSender(), RecordingSender()

    def worker(sender: RecordingSender, outbox: OutboxClient) -> DeliveryWorker:
        return DeliveryWorker(outbox, {"telegram": sender}, delivery_settings(),
                              sent_record=RedisSentRecord(REDIS_URL, prefix=prefix, ttl_seconds=60))

    cut_off = worker(first, LosingAcks(live_server.url, SERVICE_TOKEN, lose=10_000))
    other = worker(second, OutboxClient(live_server.url, SERVICE_TOKEN, timeout=5))

    async def scenario() -> None:
        await run_worker(cut_off, lambda: bool(first.sent), timeout=10)  # its acknowledgement never lands
        assert cut_off.unacknowledged == 1
        await run_worker(other, lambda: all_settled(ctx))  # claims the row once the lease has run out
        await cut_off.aclose()
        await other.aclose()

    asyncio.run(scenario())
    assert (len(first.sent), len(second.sent)) == (1, 0), "the resident saw the message twice"
    [note] = outbox_rows(ctx)
    assert note.status == OutboxStatus.SENT
    assert note.attempts == 2


def test_the_sent_record_survives_connections_that_redis_dropped():
    """After a Redis restart every pooled connection is dead: the record reconnects rather than report Redis
    unavailable (and let a message be sent twice). Simulated by killing this client's own connections only."""
    prefix = f"test-sent-record:{uuid.uuid4().hex}:"

    async def scenario() -> bool:
        writer = RedisSentRecord(REDIS_URL, prefix=prefix, ttl_seconds=60)
        reader = RedisSentRecord(REDIS_URL, prefix=prefix, ttl_seconds=60)
        try:
            await writer.add("ticket:1:status:triaged")
            await asyncio.gather(*(reader.has("warm-up") for _ in range(4)))  # several pooled connections
            pool = reader._redis.connection_pool
            mine = {"{}:{}".format(*c._writer.get_extra_info("sockname")[:2])  # type: ignore[attr-defined]
                    for c in pool._available_connections}  # type: ignore[attr-defined]
            with redis.Redis.from_url(REDIS_URL, socket_timeout=2) as admin:
                killed = [admin.client_kill_filter(_id=c["id"]) for c in admin.client_list() if c["addr"] in mine]
            assert killed
            return await reader.has("ticket:1:status:triaged")
        finally:
            await writer.aclose()
            await reader.aclose()

    assert asyncio.run(scenario()), "a dropped connection made the record forget a sent message"


def test_the_sent_record_falls_back_to_memory_when_redis_is_down():
    async def scenario() -> tuple[bool, bool]:
        record = RedisSentRecord(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
        try:
            await record.add("ticket:1:status:triaged")  # logged, kept in this process
            return await record.has("ticket:1:status:triaged"), await record.has("ticket:2:status:triaged")
        finally:
            await record.aclose()

    assert asyncio.run(scenario()) == (True, False)


def test_a_passing_failure_is_retried_after_the_back_off(live_server, factory, ctx):
    with_delays(ctx, 0.3)
    res, officer = factory.resident(), factory.officer()
    ref = report(live_server.url, res)
    set_status(live_server.url, officer, ref, "triaged")
    sender = RecordingSender(script=[RetryableDeliveryError("telegram_network")])
    # A lease long enough that every claim's send can start in it: a claim whose answer came too late to send
    # (CI under full load, with FAST's 2 s lease) counts as an attempt too and spent this test's one retry.
    worker = worker_for(live_server.url, sender, BOT_DELIVERY_LEASE_SECONDS=10)
    asyncio.run(run_worker(worker, lambda: all_settled(ctx)))
    assert sender.calls == 2
    assert len(sender.sent) == 1
    [note] = outbox_rows(ctx)
    assert (note.status, note.attempts, note.last_error) == (OutboxStatus.SENT, 2, "telegram_network")


def test_flood_control_is_waited_out_inside_the_lease(live_server, factory, ctx):
    res, officer = factory.resident(), factory.officer()
    ref = report(live_server.url, res)
    set_status(live_server.url, officer, ref, "triaged")
    sender = RecordingSender(script=[RetryableDeliveryError("telegram_retry_after", retry_after=0.3)])
    started = time.monotonic()
    asyncio.run(run_worker(worker_for(live_server.url, sender, BOT_DELIVERY_LEASE_SECONDS=5),
                           lambda: all_settled(ctx)))
    assert sender.calls == 2 and len(sender.sent) == 1
    assert time.monotonic() - started >= 0.3
    [note] = outbox_rows(ctx)
    assert (note.status, note.attempts, note.last_error) == (OutboxStatus.SENT, 1, None)


def test_a_permanent_failure_is_shown_to_officers(live_server, factory, ctx):
    res, officer = factory.resident(), factory.officer()
    ref = report(live_server.url, res)
    set_status(live_server.url, officer, ref, "triaged")
    sender = RecordingSender(script=[PermanentDeliveryError("telegram_forbidden")])
    asyncio.run(run_worker(worker_for(live_server.url, sender), lambda: all_settled(ctx)))
    assert sender.calls == 1 and sender.sent == []
    r = httpx.get(f"{live_server.url}/api/v1/officer/deliveries", headers=officer.headers, timeout=30)
    [listed] = r.json()["items"]
    assert (listed["reference"], listed["last_error"], listed["attempts"]) == (ref, "telegram_forbidden", 1)


def test_retries_that_never_succeed_end_with_officers(live_server, factory, ctx):
    with_delays(ctx, 0.1, 0.1)
    res, officer = factory.resident(), factory.officer()
    ref = report(live_server.url, res)
    set_status(live_server.url, officer, ref, "triaged")
    sender = RecordingSender(script=[RetryableDeliveryError("telegram_network")] * 10)
    asyncio.run(run_worker(worker_for(live_server.url, sender), lambda: all_settled(ctx)))
    assert sender.calls == 3  # one attempt plus one per delay
    [note] = outbox_rows(ctx)
    assert (note.status, note.last_error) == (OutboxStatus.FAILED, "telegram_network")


def test_a_slow_send_times_out_and_is_retried(live_server, factory, ctx):
    with_delays(ctx, 0.1)
    res, officer = factory.resident(), factory.officer()
    ref = report(live_server.url, res)
    set_status(live_server.url, officer, ref, "triaged")

    class Slow(RecordingSender):
        async def send(self, external_id: str, text: str, buttons: Sequence[Button]) -> None:
            if self.calls == 0:
                self.calls += 1
                await asyncio.sleep(5)  # longer than the send timeout (0.5 s)
            await super().send(external_id, text, buttons)

    sender = Slow()
    asyncio.run(run_worker(worker_for(live_server.url, sender), lambda: all_settled(ctx)))
    [note] = outbox_rows(ctx)
    assert (note.status, note.last_error, len(sender.sent)) == (OutboxStatus.SENT, "send_timeout", 1)


def test_no_send_runs_past_its_lease_so_two_workers_never_both_send(live_server, factory, ctx):
    """One chat's four messages in one batch, each send 0.6 s: the last ones cannot finish inside the
    2 s lease, so the first worker leaves them; a second worker claims them once the lease is over."""
    res = factory.resident()
    with transaction(ctx.sessions) as s:
        for n in range(4):
            enqueue(s, delivery_key=f"slow:{n}", resident_id=res.id, ticket_id=None, kind="test", text=f"message {n}")

    class Slow(RecordingSender):
        async def send(self, external_id: str, text: str, buttons: Sequence[Button]) -> None:
            await asyncio.sleep(0.6)
            await super().send(external_id, text, buttons)

    sender = Slow()  # one resident's phone, whichever worker sends
    settings = {"BOT_DELIVERY_SEND_TIMEOUT": 0.9}
    first = worker_for(live_server.url, sender, **settings)
    second = worker_for(live_server.url, sender, **settings)

    async def scenario() -> None:
        second.start()
        await run_worker(first, lambda: all_settled(ctx), timeout=30)
        await second.stop()

    asyncio.run(scenario())
    texts = sorted(s.text for s in sender.sent)
    assert texts == [f"message {n}" for n in range(4)], texts
    assert max(n.attempts for n in outbox_rows(ctx)) >= 2, "every message fitted in the first lease after all"


# -- the repairs service going away ---------------------------------------------------------------------


@pytest.fixture
def late_server(ctx) -> Iterator[tuple[str, Callable[[], None]]]:
    """A URL where the repairs service is not running yet, and a function that starts it there."""
    port = free_port()
    with contextlib.ExitStack() as running:

        def start() -> None:
            running.enter_context(serving(create_app(ctx), port=port))

        yield f"http://127.0.0.1:{port}", start


def test_the_worker_survives_the_repairs_service_being_down(late_server, factory, ctx, caplog):
    url, start_service = late_server
    res, officer = factory.resident(), factory.officer()
    sender = RecordingSender()
    worker = worker_for(url, sender)
    caplog.set_level(logging.INFO, logger="bot.delivery")

    async def scenario() -> None:
        worker.start()
        try:
            await asyncio.sleep(2.0)  # several claims fail meanwhile
            assert worker._task is not None and not worker._task.done(), "the worker gave up"
            await asyncio.to_thread(start_service)
            ref = await asyncio.to_thread(report, url, res)
            await asyncio.to_thread(set_status, url, officer, ref, "triaged")
            deadline = time.monotonic() + 15
            while not sender.sent:
                assert time.monotonic() < deadline, "nothing delivered after the service came back"
                await asyncio.sleep(0.05)
        finally:
            await worker.stop()

    asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.delivery"]
    down = [m for m in messages if m.startswith("repairs service unavailable for delivery")]
    assert len(down) == 1, messages  # one clear line per outage, not one per poll
    assert "ConnectError" in down[0]
    assert any(m == "repairs service reachable again; delivery resumes" for m in messages)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(sender.sent) == 1


def test_a_send_must_fit_in_a_lease():
    with pytest.raises(ValueError, match="shorter than"):
        delivery_settings(BOT_DELIVERY_LEASE_SECONDS=5, BOT_DELIVERY_SEND_TIMEOUT=5)


def test_logs_carry_ids_and_codes_never_the_message_or_chat(live_server, factory, ctx, caplog):
    res, officer = factory.resident(), factory.officer()
    ref = report(live_server.url, res)
    set_status(live_server.url, officer, ref, "triaged")
    caplog.set_level(logging.DEBUG, logger="bot")
    sender = RecordingSender(script=[PermanentDeliveryError("telegram_forbidden")])
    asyncio.run(run_worker(worker_for(live_server.url, sender), lambda: all_settled(ctx)))
    chat_id = res.chat.split(":", 1)[1]
    for record in caplog.records:
        rendered = record.getMessage() + repr(record.__dict__)
        assert chat_id not in rendered
        assert "looked at" not in rendered and ref not in rendered


# -- flood control ---------------------------------------------------------------------------------------


def test_flood_control_keeps_every_window_under_the_rate():
    async def scenario() -> list[tuple[float, float]]:
        flood = FloodControl(5, period=0.2, per_chat_interval=0)
        spans: list[tuple[float, float]] = []

        async def one(n: int) -> None:
            async with flood.slot(f"chat{n}"):
                start = time.monotonic()
                await asyncio.sleep(0.01)
                spans.append((start, time.monotonic()))

        await asyncio.gather(*(one(n) for n in range(30)))
        return spans

    spans = asyncio.run(scenario())
    starts = sorted(s for s, _ in spans)
    for i, start in enumerate(starts):
        assert sum(1 for s in starts[i:] if s < start + 0.2) <= 5
    assert starts[-1] - starts[0] < 1.6, "far slower than the rate allows"


def test_flood_control_spaces_one_chat_and_pauses_for_retry_after():
    async def scenario() -> tuple[list[float], float]:
        flood = FloodControl(100, per_chat_interval=0.15)
        starts: list[float] = []

        async def one() -> None:
            async with flood.slot("chat"):
                starts.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(3)))
        flood.pause(0.3)
        paused = time.monotonic()
        async with flood.slot("other"):
            waited = time.monotonic() - paused
        return starts, waited

    starts, waited = asyncio.run(scenario())
    assert all(b - a >= 0.14 for a, b in itertools.pairwise(starts))
    assert waited >= 0.29


# -- Telegram ------------------------------------------------------------------------------------------------


@pytest.fixture
def telegram() -> Iterator[TelegramStandIn]:
    with TelegramStandIn() as tg:
        yield tg


def telegram_sender(tg: TelegramStandIn) -> TelegramSender:
    settings = BotSettings(TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_BASE_URL=tg.base_url,  # type: ignore[call-arg]
                           RASA_CHANNEL_SECRET="c" * 64, _env_file=None)
    return TelegramSender.from_settings(settings)


def test_telegram_sender_sends_text_and_buttons_the_edge_understands(telegram):
    telegram.open_chat(4242)
    buttons = (Button("Yes, it's fixed", '/rate_repair{"ticket_ref":"HR-7K3Q9M"}'),
               Button("No, it's not fixed", '/reopen_repair{"ticket_ref":"HR-7K3Q9M"}'))

    async def scenario() -> None:
        sender = telegram_sender(telegram)
        await sender.start()
        try:
            await sender.send("4242", "Our operative has finished the work on HR-7K3Q9M. Is it fixed?", buttons)
        finally:
            await sender.aclose()

    asyncio.run(scenario())
    [message] = telegram.sent(4242)
    assert message.text == "Our operative has finished the work on HR-7K3Q9M. Is it fixed?"
    assert message.button_titles == ["Yes, it's fixed", "No, it's not fixed"]
    assert [b["callback_data"] for b in message.buttons] == [f"r|{b.payload}" for b in buttons]


def test_telegram_sender_says_which_message_it_sent_and_edits_its_buttons(telegram):
    telegram.open_chat(-1004242, chat_type="supergroup")
    taken = (Button("✓ Acknowledged by A Officer", "o|ack:7"), Button("Assign to me", "o|assign:7"))

    async def scenario() -> tuple[str | None, DeliveryError]:
        sender = telegram_sender(telegram)
        await sender.start()
        try:
            message_id = await sender.send("-1004242", "EMERGENCY repair HR-7K3Q9M",
                                           (Button("Acknowledge", "o|ack:7"), Button("Assign to me", "o|assign:7")))
            assert message_id is not None
            await sender.edit_buttons("-1004242", message_id, taken)
            await sender.edit_buttons("-1004242", message_id, taken)  # "not modified": already says so
            with pytest.raises(DeliveryError) as caught:
                await sender.edit_buttons("-1004242", "999999", taken)
            return message_id, caught.value
        finally:
            await sender.aclose()

    message_id, gone = asyncio.run(scenario())
    [message] = telegram.sent(-1004242)
    assert str(message.message_id) == message_id
    assert message.text == "EMERGENCY repair HR-7K3Q9M", "only the buttons change"
    assert message.button_titles == ["✓ Acknowledged by A Officer", "Assign to me"]
    assert [b["callback_data"] for b in message.buttons] == ["o|ack:7", "o|assign:7"]
    assert (gone.code, gone.retryable) == ("telegram_message_gone", False)


@pytest.mark.parametrize(("setup", "code", "retryable"), [
    (lambda tg: tg.block(4242), "telegram_forbidden", False),
    (lambda tg: None, "telegram_chat_not_found", False),  # a chat that never wrote to the bot
    (lambda tg: tg.fail_next("sendMessage", 502, "Bad Gateway"), "telegram_network", True),
    (lambda tg: tg.fail_next("sendMessage", 400, "Bad Request: message text is empty"), "telegram_bad_request",
     False),
])
def test_telegram_errors_become_delivery_errors(telegram, setup, code, retryable):
    if code != "telegram_chat_not_found":
        telegram.open_chat(4242)
    setup(telegram)

    async def scenario() -> DeliveryError:
        sender = telegram_sender(telegram)
        await sender.start()
        try:
            with pytest.raises(DeliveryError) as caught:
                await sender.send("4242", "hello", ())
            return caught.value
        finally:
            await sender.aclose()

    error = asyncio.run(scenario())
    assert (error.code, error.retryable) == (code, retryable)


def test_telegram_flood_answers_are_waited_out(telegram):
    telegram.open_chat(4242)
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    async def scenario() -> float:
        sender = telegram_sender(telegram)
        await sender.start()
        try:
            started = time.monotonic()
            await sender.send("4242", "hello", ())
            return time.monotonic() - started
        finally:
            await sender.aclose()

    took = asyncio.run(scenario())
    assert took >= 1.0
    assert telegram.texts(4242) == ["hello"]


def test_an_officers_change_reaches_the_telegram_chat_once(live_server, factory, ctx, telegram):
    """The whole path: an officer's status change, the outbox, the worker, python-telegram-bot, the stand-in."""
    res, officer = factory.resident(), factory.officer()
    chat_id = int(res.chat.split(":", 1)[1])
    telegram.open_chat(chat_id)
    ref = report(live_server.url, res)
    set_status(live_server.url, officer, ref, "triaged")
    set_status(live_server.url, officer, ref, "completed")

    settings = BotSettings(TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_BASE_URL=telegram.base_url,  # type: ignore[call-arg]
                           REPAIRS_API_URL=live_server.url, REPAIRS_API_TOKEN=SERVICE_TOKEN,
                           RASA_CHANNEL_SECRET="c" * 64, _env_file=None)

    async def scenario() -> None:
        sender = TelegramSender.from_settings(settings)  # in the bot process: the edge's application.bot
        await sender.start()
        worker = build_worker(settings, delivery_settings(BOT_DELIVERY_LEASE_SECONDS=30, BOT_DELIVERY_SEND_TIMEOUT=10),
                              telegram_bot=sender.bot)
        try:
            await run_worker(worker, lambda: all_settled(ctx))
            await asyncio.sleep(0.5)  # anything sent twice would have arrived by now
        finally:
            await worker.aclose()
            await sender.aclose()

    asyncio.run(scenario())
    messages = telegram.sent(chat_id)
    assert [("looked at" in m.body, "Is it fixed?" in m.body) for m in messages] == [(True, False), (False, True)]
    assert messages[1].button_titles == ["Yes, it's fixed", "No, it's not fixed"]
