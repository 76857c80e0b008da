"""Where the signed channel remembers the nonces it has accepted, so a turn is taken once across every replica.

One interface, two stores, chosen once from the channel's `replay_store` URL (credentials.yml):
- `redis://...` (or `rediss://`): a key per nonce, set only if absent and expiring with the turn's window.
  Production: compose already runs Redis for Rasa's lock store.
- any SQLAlchemy URL (`sqlite:///var/rasa-tracker.db`, `postgresql://...`): a table with the nonce as its
  primary key, so two replicas inserting the same one cannot both succeed. `make demo` keeps it in the SQLite
  file Rasa's tracker store already uses, so the demo stays one command without Redis.

A nonce need only be remembered until its turn is too old to be accepted anyway; both stores forget it then.
When a store cannot answer, the turn is refused as our failure (`ReplayStoreUnavailable`), never let through.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Any, Protocol

import redis.asyncio as redis_asyncio
import sqlalchemy as sa
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

REDIS_KEY_PREFIX = "signed-channel:nonce:"
SQL_TABLE = "signed_channel_nonces"
# Expired rows are deleted every this many claims (per process), not on every turn.
SQL_PRUNE_EVERY = 100
# Every call to a store has a time limit (seconds).
STORE_TIMEOUT = 5.0
# How long one SQLite statement waits for another connection's lock before SQLite answers "database is locked";
# the claim then tries again until STORE_TIMEOUT is spent.
SQLITE_BUSY_TIMEOUT = 1.0
# SQLite's own words for "another connection holds the lock": worth another try within the claim's time limit.
SQLITE_CONTENDED = ("database is locked", "database table is locked", "database schema has changed")


class ReplayStoreUnavailable(Exception):
    """The store could not say whether a nonce is new: refuse the turn, as a failure on our side."""


class ReplayStore(Protocol):
    async def claim(self, nonce: str, expires_at: float) -> bool:
        """True the first time `nonce` is claimed (remembered until `expires_at`, a Unix time); False after."""

    async def close(self) -> None:
        """Let go of connections."""


def replay_store_from_url(url: str) -> ReplayStore:
    """The store a channel's `replay_store` setting names; ValueError when it names none."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("redis", "rediss", "unix"):
        return RedisReplayStore(url)
    if scheme:
        try:
            sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise ValueError("replay_store is neither a redis:// URL nor a database URL") from None
        return SQLReplayStore(url)
    raise ValueError("replay_store must be a redis:// URL or a database URL (e.g. sqlite:///var/rasa-tracker.db)")


class RedisReplayStore:
    def __init__(self, url: str, key_prefix: str = REDIS_KEY_PREFIX) -> None:
        self._url = url
        self._prefix = key_prefix
        # Made on first use, inside the server's event loop (and in each worker process of its own).
        self._client: Any = None

    async def claim(self, nonce: str, expires_at: float) -> bool:
        if self._client is None:
            # A connection left in the pool across a Redis restart is dead: each one refused the next turn that
            # drew it as our failure (503; the drills' 10x burst, after their Redis restart). Tried again once
            # on a fresh connection, on a connection error only: the command never reached Redis then, while
            # after a timeout it may have, and a second SET NX would call the turn a replay.
            self._client = redis_asyncio.from_url(self._url, socket_timeout=STORE_TIMEOUT,
                                                  socket_connect_timeout=STORE_TIMEOUT,
                                                  retry=Retry(NoBackoff(), 1),
                                                  retry_on_error=[RedisConnectionError])
        seconds = max(1, math.ceil(expires_at - time.time()))
        try:
            created = await self._client.set(self._prefix + nonce, b"1", nx=True, ex=seconds)
        except Exception as exc:  # redis-py raises its own errors and OSError-based ones
            raise ReplayStoreUnavailable(type(exc).__name__) from None
        return bool(created)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class SQLReplayStore:
    def __init__(self, url: str) -> None:
        self._url = url
        self._metadata = sa.MetaData()
        self._table = sa.Table(
            SQL_TABLE, self._metadata,
            sa.Column("nonce", sa.String(64), primary_key=True),
            sa.Column("expires_at", sa.Integer, nullable=False, index=True),
        )
        self._engine: sa.engine.Engine | None = None
        self._lock = threading.Lock()
        self._claims = 0

    def _connected(self) -> sa.engine.Engine:
        # Built on first use, not when Rasa reads its credentials: each worker process gets its own pool.
        with self._lock:
            if self._engine is None:
                if self._url.startswith("sqlite"):
                    # A pool (SQLAlchemy 1.4 opens a new SQLite connection per use by default), shared by the
                    # worker threads claims run in.
                    engine = sa.create_engine(self._url, poolclass=sa.pool.QueuePool, pool_size=2,
                                              connect_args={"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False})
                    sa.event.listen(engine, "connect", _sqlite_without_a_sync_per_claim)
                else:
                    engine = sa.create_engine(self._url, pool_pre_ping=True,
                                              connect_args={"connect_timeout": int(STORE_TIMEOUT)})
                deadline = time.monotonic() + STORE_TIMEOUT
                while True:
                    try:
                        self._metadata.create_all(engine, checkfirst=True)
                        break
                    except SQLAlchemyError:
                        # Another replica made the table (or switched the file to WAL) at the same moment; it is
                        # there on the next look. Give up only when the claim's time is spent.
                        if time.monotonic() > deadline:
                            engine.dispose()
                            raise
                        time.sleep(0.05)
                self._engine = engine
            return self._engine

    def _claim(self, nonce: str, expires_at: float) -> bool:
        engine = self._connected()
        claimed = self._insert_once(engine, nonce, expires_at)
        with self._lock:
            self._claims += 1
            prune = self._claims % SQL_PRUNE_EVERY == 0
        if prune:
            with engine.begin() as conn:
                conn.execute(self._table.delete().where(self._table.c.expires_at < int(time.time())))
        return claimed

    def _insert_once(self, engine: sa.engine.Engine, nonce: str, expires_at: float) -> bool:
        """True when this insert made the row, False when it was there already. SQLite gives up waiting for
        another connection's lock after its busy timeout (the CI machine under full load saw it) with "database
        is locked": the insert did not happen, so trying again is safe, until the claim's own time is spent."""
        deadline = time.monotonic() + STORE_TIMEOUT
        while True:
            try:
                with engine.begin() as conn:
                    conn.execute(self._table.insert().values(nonce=nonce, expires_at=math.ceil(expires_at)))
                return True
            except IntegrityError:
                return False
            except OperationalError as exc:
                contended = any(words in str(exc.orig) for words in SQLITE_CONTENDED)
                if not contended or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    async def claim(self, nonce: str, expires_at: float) -> bool:
        try:
            # SQLAlchemy 1.4 (Rasa's) is synchronous: keep the server's event loop free while it works.
            return await asyncio.wait_for(asyncio.to_thread(self._claim, nonce, expires_at), STORE_TIMEOUT * 2)
        except (asyncio.TimeoutError, SQLAlchemyError, OSError) as exc:
            raise ReplayStoreUnavailable(type(exc).__name__) from None

    async def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _sqlite_without_a_sync_per_claim(connection: Any, _record: Any) -> None:
    """Write-ahead logging, synced at checkpoints rather than at every commit: a claim costs about 0.1 ms
    instead of a disk sync each (about 9 ms measured here). A power cut could forget the last nonces, which
    matters only for a turn replayed within its 60 s window across that power cut. (WAL is a property of the
    file, so Rasa's tracker store, when it shares the file, uses it too: it suits several processes on one
    machine.)"""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
