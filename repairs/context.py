"""Everything a request needs, built once at start-up and handed to the app (no module globals)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from repairs.appointments.slots import SlotConfig, load_slot_config
from repairs.database import make_engine, make_session_factory
from repairs.personal_data.kinds import kind_names
from repairs.personal_data.schedule import RetentionSchedule, load_schedule, settings_overrides
from repairs.personal_data.tracker_store import TrackerStore
from repairs.photos.storage import FilesystemPhotoStore, PhotoStore
from repairs.policy.engine import Policy
from repairs.policy.loader import load_policy
from repairs.reports import day_counts
from repairs.settings import Settings
from repairs.triage.rasa_client import RasaNluClient


@dataclass
class ServiceContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    policy: Policy
    photos: PhotoStore
    slots: SlotConfig
    nlu: RasaNluClient
    api_token: str | None
    # How long personal data is kept (data/retention.yml with the settings' overrides), and Rasa's tracker
    # store when the service has been told where it is (REPAIRS_TRACKER_DATABASE_URL).
    retention: RetentionSchedule
    tracker: TrackerStore | None = None


def build_context(settings: Settings, *, engine: Engine | None = None) -> ServiceContext:
    # Every mapped class must be known before the first query, whatever the caller imported (a bare
    # `python -m repairs seed-demo` imports no officer model, yet tickets point at officers).
    import repairs.tables  # noqa: F401

    engine = engine or make_engine(settings.database_url, pool_size=settings.database_pool_size)
    token = settings.api_token.get_secret_value() if settings.api_token else None
    sessions = make_session_factory(engine)
    day_counts.track(sessions)  # every ticket write keeps the reports' day counts in step
    return ServiceContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        policy=load_policy(settings.data_dir, out_of_hours_phone=settings.out_of_hours_phone),
        photos=FilesystemPhotoStore(settings.photo_dir),
        slots=load_slot_config(settings.data_dir),
        nlu=RasaNluClient(
            settings.rasa_url,
            settings.rasa_token.get_secret_value() if settings.rasa_token else None,
            timeout=settings.rasa_timeout_seconds,
        ),
        api_token=token,
        retention=load_schedule(settings.data_dir, known=kind_names(),
                                overrides=settings_overrides(settings.retention_days,
                                                             settings.listening_retention_days)),
        # The engine is built on first use: a tracker database that is down does not stop the service starting.
        tracker=TrackerStore(settings.tracker_database_url) if settings.tracker_database_url else None,
    )


def context_of(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.context
    return ctx


async def get_context(request: Request) -> ServiceContext:
    # async: no I/O here, and a sync dependency would cost a thread-pool hand-off per request
    return context_of(request)
