"""Which outbox messages a channel has already accepted: the delivery workers' record, so a message is not
sent again when the repairs service never heard that it was sent.

The window it closes: a worker sends a message, Telegram accepts it, and the `sent` acknowledgement cannot
reach the repairs service (down, or its answer lost) before the row's lease runs out; the row is claimed
again, by this worker or another bot's. Each worker checks this record before sending and writes to it as
soon as the channel accepts a message, before the acknowledgement goes out.

- `MemorySentRecord`: this process only (one bot, or no Redis): another replica can still send it again.
- `RedisSentRecord`: shared by every replica through Redis (BOT_REDIS_URL), kept in this process too. With
  Redis unreachable a worker falls back to its own memory and says so in the log: a message may then be
  sent twice (at least once, as before), never held back.

Keys are outbox delivery keys (ids such as "ticket:12:status:in_progress"), never a message or a chat.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from typing import Protocol

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 1.0
OUTAGE_LOG_INTERVAL = 60.0


class SentRecord(Protocol):
    async def has(self, delivery_key: str) -> bool:
        """Whether a channel accepted this message before."""
        ...

    async def add(self, delivery_key: str) -> None:
        """A channel accepted this message."""
        ...

    async def aclose(self) -> None: ...


class MemorySentRecord:
    """Delivery keys this process has seen accepted, the newest `capacity` kept."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    async def has(self, delivery_key: str) -> bool:
        return delivery_key in self._keys

    async def add(self, delivery_key: str) -> None:
        self._keys[delivery_key] = None
        self._keys.move_to_end(delivery_key)
        while len(self._keys) > self._capacity:
            self._keys.popitem(last=False)

    async def aclose(self) -> None:
        return None


class RedisSentRecord:
    """Kept in Redis for `ttl_seconds` (long after a row could be claimed again: the outbox fails a message
    nobody collected within a week), and in this process's memory."""

    def __init__(self, url: str, *, prefix: str = "bot:outbox-sent:", ttl_seconds: int = 8 * 24 * 3600,
                 timeout: float = REDIS_TIMEOUT_SECONDS, memory: MemorySentRecord | None = None) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        # A connection left in the pool across a Redis restart is dead, and each one failed the next call that
        # drew it (the drills: a row sent twice six minutes after Redis restarted, the record "unavailable").
        # Tried again at once on a fresh connection; both commands say the same however often they are sent.
        self._redis = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                     retry=Retry(NoBackoff(), 2),
                                     retry_on_error=[RedisConnectionError, RedisTimeoutError])
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._memory = memory or MemorySentRecord()
        self._logged_outage_at = -math.inf

    def _outage(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._logged_outage_at >= OUTAGE_LOG_INTERVAL:
            self._logged_outage_at = now
            log.warning("sent-message record in this process only: Redis unavailable: %s", type(exc).__name__)

    async def has(self, delivery_key: str) -> bool:
        from redis.exceptions import RedisError

        if await self._memory.has(delivery_key):
            return True
        try:
            return bool(await self._redis.exists(self._prefix + delivery_key))
        except (RedisError, OSError) as exc:
            self._outage(exc)
            return False

    async def add(self, delivery_key: str) -> None:
        from redis.exceptions import RedisError

        await self._memory.add(delivery_key)
        try:
            await self._redis.set(self._prefix + delivery_key, b"1", ex=self._ttl)
        except (RedisError, OSError) as exc:
            self._outage(exc)

    async def aclose(self) -> None:
        await self._redis.aclose()


def sent_record_from_url(redis_url: str | None) -> SentRecord:
    return RedisSentRecord(redis_url) if redis_url else MemorySentRecord()
