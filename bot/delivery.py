"""Delivering proactive updates: lease messages from the repairs service's outbox, send each on the
resident's channel, and report it sent or failed.

What "exactly once, as the resident sees it" means here. Telegram's sendMessage has no idempotency key,
so no client can promise exactly once across every failure. This worker promises:

- No two workers send one message at the same time: a row is sent only while this worker holds its
  lease, and a send starts only if it can finish (the send timeout) before the lease runs out.
- A message Telegram accepted is not sent again: its delivery key goes into the sent record
  (bot/sent_record.py) before the `sent` acknowledgement goes out. If that acknowledgement fails it is
  retried before each claim; if the row comes back in a later claim meanwhile, it is acknowledged, not
  sent. With BOT_REDIS_URL set the record is shared by every bot replica, so this holds across replicas
  too (the repairs service down past a lease, then the other bot claiming the row: the drills' duplicate).
- Nothing is lost: a row is marked sent only after the channel accepted it; anything else comes back
  (lease expiry, back-off) until it is sent or fails for good, where officers see it.

The window left, where a resident can see a message twice: Telegram accepted a send but the answer
never arrived (a timeout or a dropped connection: it is sent again, since twice beats never for
"an operative is on the way"), or this process died between Telegram accepting a send and writing the
sent record (microseconds), or the record is in this process only (no Redis, or Redis down) and another
worker claims the row before the acknowledgement lands. All are rare and short.

Flood limits: at most `messages_per_second` sends in any one-second window, counted from when earlier
sends *finished* (a send reaches Telegram before its answer comes back, so this can never overrun a
window however uneven the network), one message per second in any one chat, and a pause for everyone
when Telegram answers RetryAfter. Counting from the start of each send instead would gain one round trip
per window, but measured against the stand-in's strict window on a busy machine it drew hundreds of 429s
(requests bunch up on the way) and took 1.56x the floor; counted from the finish: none, 1.06x.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bot.delivery_settings import DeliverySettings
from bot.outbox_client import OutboxClient, OutboxItem, OutboxRefused, OutboxUnavailable
from bot.rasa_gateway import Button
from bot.repairs_client import RepairsError, RepairsUnavailable
from bot.sent_record import MemorySentRecord, SentRecord, sent_record_from_url
from bot.settings import BotSettings
from bot.telegram.rendering import PayloadStore, keyboard, split_text

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class DeliveryError(Exception):
    """A send that did not go through. `code` is short and free of personal data: it is stored for officers."""

    retryable = True

    def __init__(self, code: str, *, retry_after: float | None = None, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after
        self.detail = detail  # the channel's own words, for deciding here; never stored


class RetryableDeliveryError(DeliveryError):
    """Worth trying again later: the network, a timeout, flood control."""


class PermanentDeliveryError(DeliveryError):
    """Trying again will not help: the resident blocked the bot, the chat is gone, the message is invalid."""

    retryable = False


class ChannelSender(Protocol):
    """Sends one message to one chat on one channel, or raises a `DeliveryError`."""

    async def send(self, external_id: str, text: str, buttons: Sequence[Button]) -> str | None:
        """Returns the channel's id of the message that carries the buttons (the last), if it has one."""
        ...

    async def edit_buttons(self, external_id: str, message_id: str, buttons: Sequence[Button]) -> None:
        """Replace the buttons of a message sent before (the officers' alert, once someone has it)."""
        ...


# --- flood control -------------------------------------------------------------------------------------


@dataclass
class Slot:
    used: bool = True


class FloodControl:
    """Sends are admitted through `slot(chat)`: at most `rate` in any `period`, one chat at a time and no
    sooner than `per_chat_interval` after that chat's last send finished, and none while paused.

    Why this and not python-telegram-bot's AIORateLimiter alone (which stays underneath, for the replies the
    edge sends and for RetryAfter answers it waits out itself):
    - AIORateLimiter limits private chats only overall (30 a second); it has no per-chat limit except for
      groups (20 a minute), so a burst of updates to one resident would go out faster than Telegram's one a
      second in a chat allows.
    - It admits a request when the request starts, inside `send_message`: a send queued there starts whenever
      the limiter lets it, possibly after this worker's lease has run out and another worker has claimed the
      row. Here a send is admitted before the lease check (`DeliveryWorker._send`), so the "no two workers send
      one message at once" promise in the module docstring holds.
    - Counting from the finish, as here, was measured against counting from the start (the module docstring):
      no 429s and 1.06x the floor, against hundreds and 1.56x.
    """

    def __init__(self, rate: int, *, period: float = 1.0, per_chat_interval: float = 1.0,
                 clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.period = period
        self.per_chat_interval = per_chat_interval
        self._clock = clock
        self._finished: deque[float] = deque()  # when recent sends finished, oldest first
        self._in_flight = 0
        self._chat_free_at: dict[str, float] = {}
        self._paused_until = 0.0
        self._changed = asyncio.Condition()

    def pause(self, seconds: float) -> None:
        """Telegram said RetryAfter: nobody sends until it has passed."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @contextlib.asynccontextmanager
    async def slot(self, chat: str) -> AsyncIterator[Slot]:
        """Hold a send's place; set `slot.used = False` if nothing was sent after all."""
        await self._acquire(chat)
        slot = Slot()
        try:
            yield slot
        finally:
            await self._release(chat, slot.used)

    def _wait_needed(self, chat: str, now: float) -> float | None:
        """0 if a send may start now; otherwise seconds to wait, or None to wait for a send to finish."""
        while self._finished and self._finished[0] <= now - self.period:
            self._finished.popleft()
        waits = [self._paused_until - now, self._chat_free_at.get(chat, 0.0) - now]
        if self._in_flight + len(self._finished) >= self.rate:
            if not self._finished:
                return None
            waits.append(self._finished[0] + self.period - now)
        longest = max(waits)
        if longest == float("inf"):
            return None  # this chat has a send in flight
        return max(longest, 0.0)

    async def _acquire(self, chat: str) -> None:
        async with self._changed:
            while True:
                wait = self._wait_needed(chat, self._clock())
                if wait == 0.0:
                    self._in_flight += 1
                    self._chat_free_at[chat] = float("inf")
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)

    async def _release(self, chat: str, used: bool) -> None:
        async with self._changed:
            now = self._clock()
            self._in_flight -= 1
            if used:
                self._finished.append(now)
                self._chat_free_at[chat] = now + self.per_chat_interval
            else:
                self._chat_free_at.pop(chat, None)
            if len(self._chat_free_at) > 10_000:  # forget chats long quiet, so memory stays flat
                self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}
            self._changed.notify_all()


# --- Telegram --------------------------------------------------------------------------------------------


class TelegramSender:
    """Sends through python-telegram-bot. Buttons become an inline keyboard whose callback data the
    Telegram edge understands (see bot.telegram.rendering), so a tap reaches the assistant."""

    def __init__(self, bot: Bot, *, payloads: PayloadStore | None = None) -> None:
        self.bot = bot
        self._payloads = payloads

    @classmethod
    def from_settings(cls, settings: BotSettings) -> TelegramSender:
        """A sender with its own client. In the bot process, prefer the edge's `application.bot` (and its
        chat state), so replies and updates share one rate limiter and long button payloads resolve."""
        if settings.telegram_bot_token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        bot: ExtBot[int] = ExtBot(
            settings.telegram_bot_token.get_secret_value(),
            base_url=settings.telegram_api_base_url,
            base_file_url=settings.file_base_url,
            request=HTTPXRequest(connection_pool_size=64, connect_timeout=5, read_timeout=15, write_timeout=15,
                                 pool_timeout=5),
            # Waits out and retries a send Telegram answered with RetryAfter.
            rate_limiter=AIORateLimiter(max_retries=settings.telegram_send_retries),
        )
        return cls(bot)

    async def start(self) -> None:
        await self.bot.initialize()

    async def aclose(self) -> None:
        await self.bot.shutdown()

    @staticmethod
    def _chat_id(external_id: str) -> int:
        try:
            return int(external_id)
        except ValueError:
            raise PermanentDeliveryError("telegram_bad_chat_id") from None

    async def _markup(self, buttons: Sequence[Button], chat_id: int) -> InlineKeyboardMarkup | None:
        try:
            return await keyboard(buttons, chat_id, self._payloads)
        except ValueError:
            raise PermanentDeliveryError("button_payload_too_long") from None
        except (RepairsUnavailable, RepairsError):
            raise RetryableDeliveryError("payload_not_kept") from None

    async def send(self, external_id: str, text: str, buttons: Sequence[Button]) -> str | None:
        chat_id = self._chat_id(external_id)
        markup = await self._markup(buttons, chat_id)
        parts = split_text(text) or ["…"]
        with _telegram_errors():
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                sent = await self.bot.send_message(chat_id, part, reply_markup=markup if last else None)
        return str(sent.message_id)

    async def edit_buttons(self, external_id: str, message_id: str, buttons: Sequence[Button]) -> None:
        chat_id = self._chat_id(external_id)
        markup = await self._markup(buttons, chat_id)
        try:
            with _telegram_errors():
                await self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=int(message_id),
                                                         reply_markup=markup)
        except PermanentDeliveryError as exc:
            if exc.detail and "not modified" in exc.detail:
                return  # the buttons already say so (a tap in the group got there first)
            raise


@contextmanager
def _telegram_errors() -> Iterator[None]:
    """python-telegram-bot's errors as delivery errors: retried, or failed for officers to see."""
    try:
        yield
    except RetryAfter as exc:
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        raise RetryableDeliveryError("telegram_retry_after", retry_after=seconds) from None
    except Forbidden:
        raise PermanentDeliveryError("telegram_forbidden") from None  # the resident blocked the bot
    except BadRequest as exc:  # before NetworkError: BadRequest is a subclass of it
        text = str(exc).lower()
        code = ("telegram_chat_not_found" if "chat not found" in text
                else "telegram_message_gone" if "message to edit not found" in text or "can't be edited" in text
                else "telegram_bad_request")
        raise PermanentDeliveryError(code, detail=text) from None
    except TimedOut:
        raise RetryableDeliveryError("telegram_timeout") from None
    except NetworkError:
        raise RetryableDeliveryError("telegram_network") from None
    except TelegramError:
        # A wrong token and the like: retried, and failed for officers to see once the budget is spent.
        raise RetryableDeliveryError("telegram_error") from None


# --- the worker ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sent:
    message_id: str | None


@dataclass
class _Ack:
    item: OutboxItem
    error: str | None = None  # None: sent
    retryable: bool = True
    message_id: str | None = None  # the channel's id of what was sent, when it gave one


class DeliveryWorker:
    """Claim, send, acknowledge, until stopped. Survives the repairs service and the channel being down."""

    ACK_TRIES = 3
    BATCHES_IN_HAND = 2  # claimed batches being sent at once: the one sending, and the next, ready
    MAX_RETRY_AFTER_IN_LEASE = 3  # RetryAfter answers waited out within one lease before giving up on it

    def __init__(self, outbox: OutboxClient, senders: Mapping[str, ChannelSender], settings: DeliverySettings,
                 *, clock: Clock = time.monotonic, sent_record: SentRecord | None = None) -> None:
        if not senders:
            raise ValueError("no channel to deliver on")
        self.outbox = outbox
        self.senders = dict(senders)
        self.settings = settings
        self._clock = clock
        self.flood = FloodControl(settings.messages_per_second, per_chat_interval=settings.per_chat_interval_seconds,
                                  clock=clock)
        self._sending = asyncio.Semaphore(settings.concurrency)
        self._delivered = sent_record or MemorySentRecord()
        self._unacked: list[_Ack] = []
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._outage_since: float | None = None
        self.sent_count = 0

    # life cycle
    def start(self) -> None:
        """Run in the background (call from the running event loop, e.g. an ASGI lifespan)."""
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self.run(), name="outbox-delivery")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand and its acknowledgements, claim nothing more. Past `timeout` the
        worker is cancelled; rows it held come back when their lease runs out."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(task, timeout)
        except TimeoutError:
            log.warning("delivery worker did not stop in time; its leased rows will come back")

    async def run(self) -> None:
        idle = self.settings.idle_min_seconds
        outage_wait = 1.0
        channels = sorted(self.senders)
        batches: set[asyncio.Task[None]] = set()
        while not self._stopping.is_set():
            # The next batch is claimed while the last one is still sending, so sends never wait on a claim.
            while len(batches) >= self.BATCHES_IN_HAND:
                await asyncio.wait(batches, return_when=asyncio.FIRST_COMPLETED)
            await self._flush_acks()
            lease_started = self._clock()
            try:
                items = await asyncio.wait_for(
                    self.outbox.claim(channels, limit=self.settings.batch_size,
                                      lease_seconds=self.settings.lease_seconds),
                    self.settings.call_timeout_seconds,
                )
            except (OutboxUnavailable, OutboxRefused, TimeoutError) as exc:
                self._note_outage(exc, outage_wait)
                await self._pause(outage_wait)
                outage_wait = min(outage_wait * 2, self.settings.outage_max_seconds)
                continue
            except Exception:  # a bug must not end delivery for good: log it, wait, go on
                log.exception("delivery claim failed unexpectedly")
                await self._pause(outage_wait)
                continue
            if self._outage_since is not None:
                log.info("repairs service reachable again; delivery resumes",
                         extra={"outage_seconds": round(self._clock() - self._outage_since, 1)})
                self._outage_since = None
            outage_wait = 1.0
            if not items:
                await self._pause(idle)
                idle = min(idle * 2, self.settings.idle_max_seconds)
                continue
            idle = self.settings.idle_min_seconds
            batch = asyncio.create_task(self.deliver(items, lease_ends=lease_started + self.settings.lease_seconds))
            batches.add(batch)
            batch.add_done_callback(batches.discard)
        if batches:
            await asyncio.wait(batches)
        await self._flush_acks()

    def _note_outage(self, exc: Exception, wait: float) -> None:
        reason = type(exc).__name__ if isinstance(exc, TimeoutError) else str(exc)
        if self._outage_since is None:
            self._outage_since = self._clock()
            log.warning("repairs service unavailable for delivery (%s); retrying in %.0f s", reason, wait)
        elif wait >= self.settings.outage_max_seconds:
            log.warning("repairs service still unavailable for delivery (%s)", reason)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # one batch
    async def deliver(self, items: Sequence[OutboxItem], *, lease_ends: float) -> None:
        """Send a claimed batch: each chat's messages in order, different chats at once."""
        by_chat: dict[tuple[str, str], list[OutboxItem]] = {}
        for item in items:
            by_chat.setdefault((item.channel, item.external_id), []).append(item)
        await asyncio.gather(*(self._deliver_chat(chat, lease_ends) for chat in by_chat.values()))

    async def _deliver_chat(self, items: list[OutboxItem], lease_ends: float) -> None:
        for item in items:
            await self._deliver_one(item, lease_ends)

    async def _deliver_one(self, item: OutboxItem, lease_ends: float) -> None:
        if await self._delivered.has(item.delivery_key):
            # Sent before (by this worker or, with a shared record, another), but the acknowledgement never
            # landed: record it, do not resend.
            await self._ack(_Ack(item))
            return
        sender = self.senders.get(item.channel)
        if sender is None:
            await self._ack(_Ack(item, "no_sender", retryable=True))
            return
        for _ in range(1 + self.MAX_RETRY_AFTER_IN_LEASE):
            outcome = await self._send(sender, item, lease_ends)
            if outcome is None:
                return  # left for the next claim
            if isinstance(outcome, DeliveryError) and outcome.retry_after is not None:
                self.flood.pause(outcome.retry_after)
                log.info("flood control: pausing sends", extra={"seconds": outcome.retry_after})
                continue
            break
        if isinstance(outcome, DeliveryError):
            log.info("delivery failed", extra={"notification_id": item.id, "kind": item.kind,
                                               "channel": item.channel, "error": outcome.code,
                                               "retryable": outcome.retryable})
            await self._ack(_Ack(item, outcome.code, retryable=outcome.retryable))
            return
        await self._delivered.add(item.delivery_key)  # before the acknowledgement: see the module docstring
        self.sent_count += 1
        log.info("delivered", extra={"notification_id": item.id, "kind": item.kind, "channel": item.channel})
        await self._ack(_Ack(item, message_id=outcome.message_id if isinstance(outcome, _Sent) else None))

    async def _send(self, sender: ChannelSender, item: OutboxItem, lease_ends: float) -> DeliveryError | _Sent | None:
        """What was sent, the error when not, None when it could not start inside the lease. An item with
        `edit_message_id` in its data replaces that message's buttons instead (the officers' alert)."""
        timeout = self.settings.send_timeout_seconds
        chat = f"{item.channel}:{item.external_id}"
        async with self._sending, self.flood.slot(chat) as slot:
            # A send that started now but finished after the lease could overlap another worker's claim.
            if self._clock() + timeout >= lease_ends:
                slot.used = False
                log.info("lease too short to send; leaving it for the next claim", extra={"notification_id": item.id})
                return None
            edit = item.data.get("edit_message_id")
            try:
                if edit:
                    await asyncio.wait_for(sender.edit_buttons(item.external_id, str(edit), item.buttons), timeout)
                    return _Sent(None)
                return _Sent(await asyncio.wait_for(sender.send(item.external_id, item.text, item.buttons), timeout))
            except DeliveryError as exc:
                return exc
            except TimeoutError:
                return RetryableDeliveryError("send_timeout")
            except Exception:  # a sender bug: logged with its traceback, the message retried later
                log.exception("sender failed unexpectedly", extra={"notification_id": item.id})
                return RetryableDeliveryError("sender_error")

    # acknowledgements
    async def _ack(self, ack: _Ack) -> None:
        # tenacity, as the repairs clients use it: bounded exponential back-off, retrying only an outbox that is
        # down or slow (an acknowledgement says the same however often it is sent).
        retrying = AsyncRetrying(stop=stop_after_attempt(self.ACK_TRIES),
                                 wait=wait_exponential(multiplier=0.2, max=2.0),
                                 retry=retry_if_exception_type((OutboxUnavailable, TimeoutError)), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    await self._send_ack(ack)
        except (OutboxUnavailable, TimeoutError):
            # Kept and retried before each claim; a sent message whose row comes back is acknowledged, not resent.
            self._unacked.append(ack)
        except OutboxRefused as exc:
            log.warning("delivery acknowledgement refused", extra={"notification_id": ack.item.id,
                                                                    "status": exc.status, "code": exc.code})

    async def _send_ack(self, ack: _Ack) -> None:
        call: Awaitable[None]
        if ack.error is None:
            call = self.outbox.sent(ack.item.id, message_id=ack.message_id)
        else:
            call = self.outbox.failed(ack.item.id, error=ack.error, retryable=ack.retryable,
                                      attempt=ack.item.attempts)
        await asyncio.wait_for(call, self.settings.call_timeout_seconds)

    async def _flush_acks(self) -> None:
        pending, self._unacked = self._unacked, []
        for index, ack in enumerate(pending):
            try:
                await self._send_ack(ack)
            except (OutboxUnavailable, TimeoutError):
                self._unacked.extend(pending[index:])
                return
            except OutboxRefused:
                continue

    @property
    def unacknowledged(self) -> int:
        return len(self._unacked)

    async def aclose(self, timeout: float = 10.0) -> None:
        """Stop, then close the client to the repairs service and the sent record."""
        await self.stop(timeout)
        await self.outbox.aclose()
        await self._delivered.aclose()


def build_worker(settings: BotSettings, delivery: DeliverySettings, *, telegram_bot: Bot,
                 payloads: PayloadStore | None = None) -> DeliveryWorker:
    """The worker for the bot process. Pass the Telegram edge's `application.bot` and its chat state,
    so replies and proactive messages share one rate limiter and taps on long payloads resolve:

        worker = build_worker(settings, DeliverySettings(), telegram_bot=edge.application.bot,
                              payloads=edge.services.state)
        worker.start()        # once the edge has started (the bot must be initialised)
        ...
        await worker.aclose() # before the edge stops
    """
    outbox = OutboxClient(settings.repairs_url, settings.repairs_token(), timeout=delivery.call_timeout_seconds)
    redis_url = delivery.redis_url.get_secret_value() if delivery.redis_url is not None else ""
    return DeliveryWorker(outbox, {"telegram": TelegramSender(telegram_bot, payloads=payloads)}, delivery,
                          sent_record=sent_record_from_url(redis_url or None))
