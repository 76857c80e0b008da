"""The outbox sweeper: a background task of each repairs replica that fails messages nobody collected
(delivery.expire_unread). Replicas sweeping at once take different rows (SKIP LOCKED), so no leader is needed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.notifications.delivery import expire_unread

log = logging.getLogger(__name__)


def sweep_once(ctx: ServiceContext) -> int:
    expired = 0
    while True:  # in batches, each its own short transaction
        with transaction(ctx.sessions) as session:
            batch = expire_unread(session, older_than=timedelta(hours=ctx.settings.outbox_expire_hours))
        expired += batch
        if batch < 500:
            return expired


async def sweep_forever(ctx: ServiceContext, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(sweep_once, ctx)
        except SQLAlchemyError as exc:  # the database is down for a moment: the next sweep catches up
            log.warning("outbox sweep failed: %s", type(exc).__name__)


@contextlib.asynccontextmanager
async def outbox_sweeper(app: FastAPI) -> AsyncIterator[None]:
    """FastAPI lifespan: sweep while the app serves."""
    ctx: ServiceContext = app.state.context
    every = ctx.settings.outbox_sweep_seconds
    task = asyncio.create_task(sweep_forever(ctx, every), name="outbox-sweeper") if every > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
