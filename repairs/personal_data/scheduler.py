"""The daily retention run inside the service: each replica asks every `retention_check_seconds` whether a run
is due, and the one that takes the lease runs it (repairs/personal_data/retention_run.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from repairs.context import ServiceContext
from repairs.personal_data.retention_run import run_retention

log = logging.getLogger(__name__)


async def retain_forever(ctx: ServiceContext, every: float) -> None:
    due_after = timedelta(hours=ctx.settings.retention_every_hours)
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(run_retention, ctx, trigger="service", due_after=due_after)
        except (SQLAlchemyError, OSError) as exc:  # the database or photo store away for a moment: next check
            log.warning("retention run failed: %s", type(exc).__name__)


@contextlib.asynccontextmanager
async def retention_scheduler(ctx: ServiceContext) -> AsyncIterator[None]:
    every = ctx.settings.retention_check_seconds
    task = asyncio.create_task(retain_forever(ctx, every), name="retention") if every > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
