"""Rate limits for the web chat's POSTs: token buckets, one per session and kind of request, and one per
client address for the requests that cost the most (a turn with the assistant, a photo).

A bucket holds up to `burst` tokens and refills at `per_minute`; each request takes one, and a request
that finds its bucket empty is refused with the time until a token is back (the Retry-After).

Two limiters behind one interface, chosen once at start-up (`limiter_from_settings`):
- `MemoryLimiter`, the default for the single-process demo: buckets in this process's memory. With more
  than one replica each limits on its own, so a client spread across N replicas gets up to N times the
  rate: set BOT_REDIS_URL to share the buckets.
- `RedisLimiter`: the buckets in Redis, taken by one Lua script, so replicas share them and two
  requests at once never take the same token. The clock is Redis's, so replicas' clocks need not agree.
  While Redis cannot be reached it falls back to buckets in this process (each replica then limits on
  its own, as without Redis) rather than switching the limits off; the repairs service's own throttles
  on identity checks are in its database and hold across replicas either way.

Either forgets a bucket once it has refilled (it would behave exactly as a new one), so memory is bounded
by the clients seen in the last half-minute or so, not by every client ever seen.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

# Redis answers a script in well under a millisecond; past this, the request is limited in this process.
REDIS_TIMEOUT_SECONDS = 0.5
# How often, at most, a Redis outage is logged (every request would otherwise log it).
OUTAGE_LOG_INTERVAL = 60.0


@dataclass(frozen=True)
class Rate:
    per_minute: float
    burst: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0

    def seconds_to_fill(self, tokens: float) -> float:
        return max(0.0, self.burst - tokens) / self.per_second


@dataclass(frozen=True)
class Bucket:
    name: str  # what it limits, for the log: "session" or "client" (never the key, which identifies someone)
    key: str
    rate: Rate


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0  # seconds until the request would be allowed
    limited_by: str | None = None  # the name of the first bucket that was empty

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


ALLOWED = Verdict(True)


class Limiter(Protocol):
    async def take(self, buckets: Sequence[Bucket]) -> Verdict:
        """Take a token from every bucket, or, when any is empty, from none."""
        ...

    async def aclose(self) -> None: ...


class MemoryLimiter:
    """Buckets in this process, least recently used first, so the idle ones are found at the front."""

    def __init__(self, max_buckets: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_buckets
        self._clock = clock
        # key -> (tokens, when counted, when full again)
        self._buckets: OrderedDict[str, tuple[float, float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    async def take(self, buckets: Sequence[Bucket]) -> Verdict:
        # No await in here: on one event loop, taking from several buckets is atomic.
        now = self._clock()
        self._forget_full(now)
        levels = [self._level(bucket, now) for bucket in buckets]
        empty = [(bucket, tokens) for bucket, tokens in zip(buckets, levels, strict=True) if tokens < 1]
        if empty:
            wait = max((1 - tokens) / bucket.rate.per_second for bucket, tokens in empty)
            return Verdict(False, wait, empty[0][0].name)
        for bucket, tokens in zip(buckets, levels, strict=True):
            left = tokens - 1
            self._buckets[bucket.key] = (left, now, now + bucket.rate.seconds_to_fill(left))
            self._buckets.move_to_end(bucket.key)
        while len(self._buckets) > self._max:  # a flood of new clients: the longest idle are forgotten
            self._buckets.popitem(last=False)
        return ALLOWED

    def _level(self, bucket: Bucket, now: float) -> float:
        saved = self._buckets.get(bucket.key)
        if saved is None:
            return float(bucket.rate.burst)
        tokens, at, _ = saved
        return min(float(bucket.rate.burst), tokens + max(0.0, now - at) * bucket.rate.per_second)

    def _forget_full(self, now: float) -> None:
        while self._buckets:
            _, (_, _, full_at) = next(iter(self._buckets.items()))
            if full_at > now:
                return
            self._buckets.popitem(last=False)

    async def aclose(self) -> None:
        self._buckets.clear()


# KEYS: the buckets; ARGV: tokens a second and burst for each, in turn. Returns the 1-based index of the
# first empty bucket (0: allowed, one token taken from each) and the wait in seconds, as a string
# (Redis would cut a Lua number to an integer). Each bucket expires once it would be full again.
TAKE_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local levels = {}
local empty = 0
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local saved = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(saved[1])
  local at = tonumber(saved[2])
  if tokens == nil or at == nil then
    tokens = burst
  else
    tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  end
  levels[i] = tokens
  if tokens < 1 then
    if empty == 0 then empty = i end
    wait = math.max(wait, (1 - tokens) / rate)
  end
end
if empty == 0 then
  for i, key in ipairs(KEYS) do
    local rate = tonumber(ARGV[2 * i - 1])
    local burst = tonumber(ARGV[2 * i])
    local left = levels[i] - 1
    redis.call('HSET', key, 'tokens', tostring(left), 'at', tostring(now))
    redis.call('PEXPIRE', key, math.ceil((burst - left) / rate * 1000) + 1000)
  end
end
return {empty, tostring(wait)}
"""


class RedisLimiter:
    """Buckets in Redis, shared by every replica. With Redis down, each request is limited by buckets in
    this process instead (and the outage is logged): refusing every resident would be worse than limits
    per replica for a spell, and switching the limits off would let anyone flood the assistant meanwhile."""

    def __init__(self, url: str, prefix: str, timeout: float = REDIS_TIMEOUT_SECONDS,
                 fallback: Limiter | None = None) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._script = self._redis.register_script(TAKE_SCRIPT)
        self._prefix = prefix
        self._fallback = fallback or MemoryLimiter()
        self._logged_outage_at = -math.inf

    async def take(self, buckets: Sequence[Bucket]) -> Verdict:
        from redis.exceptions import RedisError

        args: list[float] = []
        for bucket in buckets:
            args.extend((bucket.rate.per_second, bucket.rate.burst))
        try:
            empty, wait = await self._script(keys=[self._prefix + b.key for b in buckets], args=args)
        except (RedisError, OSError) as exc:
            now = time.monotonic()
            if now - self._logged_outage_at >= OUTAGE_LOG_INTERVAL:
                self._logged_outage_at = now
                # The kind of failure only: no key, which would say whose bucket it was.
                log.warning("web chat rate limits per process: Redis unavailable: %s", type(exc).__name__)
            return await self._fallback.take(buckets)
        if int(empty) == 0:
            return ALLOWED
        return Verdict(False, float(wait), buckets[int(empty) - 1].name)

    async def aclose(self) -> None:
        await self._fallback.aclose()
        await self._redis.aclose()


def limiter_from_settings(redis_url: str | None, prefix: str) -> Limiter:
    return RedisLimiter(redis_url, prefix) if redis_url else MemoryLimiter()
