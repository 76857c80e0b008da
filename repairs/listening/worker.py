"""Listening's background work in each repairs replica: consuming Rasa's events (a thread: pika's client
blocks) and recomputing the themes. Neither needs a leader: consumers compete for events and stores are
idempotent. What is past its retention is deleted by the service's one retention run (data/retention.yml,
listening_utterances; repairs/personal_data/), not here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.listening.consumers import build_consumer

if TYPE_CHECKING:
    from repairs.listening import themes

log = logging.getLogger(__name__)


def themes_once(ctx: ServiceContext, encoder: themes.Encoder) -> int | None:
    """Recompute the themes if due; None when it was not."""
    # Imported where themes are computed: NumPy, the dissatisfaction model and (in a run) scikit-learn are needed
    # only by replicas that consume listening's events, not by every worker that serves requests.
    from repairs.listening import themes

    every = timedelta(seconds=ctx.settings.listening_themes_seconds)
    with transaction(ctx.sessions) as session:
        if not themes.due(session, every=every, now=utcnow()):
            return None
    return themes.recompute(ctx.sessions, encoder)


async def themes_forever(ctx: ServiceContext, every: float) -> None:
    from repairs_encoder.encoder import SentenceEncoder
    from repairs_encoder.model_files import GraphMissingError

    try:
        encoder = await asyncio.to_thread(SentenceEncoder)
    except (GraphMissingError, OSError) as exc:
        log.warning("listening themes off: no sentence encoder (%s); run `make encoder`", type(exc).__name__)
        return
    while True:
        await asyncio.sleep(min(every, 60))
        try:
            await asyncio.to_thread(themes_once, ctx, encoder)
        except SQLAlchemyError as exc:
            log.warning("listening themes failed: %s", type(exc).__name__)


@contextlib.asynccontextmanager
async def listening_worker(ctx: ServiceContext) -> AsyncIterator[None]:
    """Run the consumer and the themes job while the app serves."""
    consumer = build_consumer(ctx)
    stop = threading.Event()
    thread = None
    if consumer is not None:
        thread = threading.Thread(target=consumer.run, args=(stop, ctx.settings.listening_poll_seconds),
                                  name="listening-consumer", daemon=True)
        thread.start()
    tasks: list[asyncio.Task[None]] = []
    # Themes only where something is consumed (a replica with the broker off has nothing new to group).
    themes_every = ctx.settings.listening_themes_seconds
    if themes_every > 0 and consumer is not None:
        tasks.append(asyncio.create_task(themes_forever(ctx, themes_every), name="listening-themes"))
    try:
        yield
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if thread is not None:
            await asyncio.to_thread(thread.join, 15)
        if consumer is not None:
            consumer.close()
