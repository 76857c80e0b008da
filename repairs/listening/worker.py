"""Listening's background work in each repairs replica: consuming Rasa's events (a thread: pika's client
blocks) and deleting what is past its retention (a task, hourly by default). Neither needs a leader:
consumers compete for events and stores are idempotent; purges delete disjoint or already-deleted rows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.listening.consumers import build_consumer
from repairs.listening.store import purge_expired

log = logging.getLogger(__name__)


def purge_once(ctx: ServiceContext) -> int:
    retention = timedelta(days=ctx.settings.listening_retention_days)
    purged = 0
    while True:  # in batches, each its own short transaction
        with transaction(ctx.sessions) as session:
            batch = purge_expired(session, retention=retention)
        purged += batch
        if batch == 0:
            return purged


async def purge_forever(ctx: ServiceContext, every: float) -> None:
    while True:
        try:
            await asyncio.to_thread(purge_once, ctx)
        except SQLAlchemyError as exc:
            log.warning("listening purge failed: %s", type(exc).__name__)
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def listening_worker(ctx: ServiceContext) -> AsyncIterator[None]:
    """Run the consumer and the retention job while the app serves."""
    consumer = build_consumer(ctx)
    stop = threading.Event()
    thread = None
    if consumer is not None:
        thread = threading.Thread(target=consumer.run, args=(stop, ctx.settings.listening_poll_seconds),
                                  name="listening-consumer", daemon=True)
        thread.start()
    every = ctx.settings.listening_purge_seconds
    task = asyncio.create_task(purge_forever(ctx, every), name="listening-purge") if every > 0 else None
    try:
        yield
    finally:
        stop.set()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if thread is not None:
            await asyncio.to_thread(thread.join, 15)
        if consumer is not None:
            consumer.close()
