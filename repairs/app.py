"""The FastAPI application factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from repairs.alerts.routes import router as alerts_router
from repairs.announcements.routes import router as announcements_router
from repairs.auth.routes import router as auth_router
from repairs.channels.routes import router as channels_router
from repairs.contact.routes import router as contact_router
from repairs.context import ServiceContext
from repairs.limits import BodySizeLimit
from repairs.listening.worker import listening_worker
from repairs.meta_routes import router as meta_router
from repairs.notifications.officer_routes import router as deliveries_router
from repairs.notifications.routes import router as outbox_router
from repairs.notifications.sweeper import outbox_sweeper
from repairs.open311.routes import router as open311_router
from repairs.personal_data.scheduler import retention_scheduler
from repairs.problems import install_problem_handlers
from repairs.residents.routes import router as residents_router
from repairs.tickets.officer_routes import router as officer_router
from repairs.tickets.routes import router as tickets_router
from repairs.tickets.shared_fault_routes import router as shared_faults_router
from repairs.triage.routes import router as triage_router
from repairs.unexpected_errors import RequestGuard
from repairs.usage.routes import router as usage_router
from repairs.workspace import pages as workspace


@contextlib.asynccontextmanager
async def background_jobs(app: FastAPI) -> AsyncIterator[None]:
    """FastAPI lifespan: the outbox sweeper, the daily retention run and listening's consumer and jobs, while
    the app serves."""
    async with outbox_sweeper(app), retention_scheduler(app.state.context), listening_worker(app.state.context):
        yield


def create_app(context: ServiceContext) -> FastAPI:
    app = FastAPI(
        title="Housing repairs service",
        version="1.0.0",
        description=(
            "System of record for council housing repairs: residents, homes, tickets, priorities and "
            "legal timescales. Resident endpoints are called by the assistant with the service token and "
            "an X-Resident-Channel header; officer endpoints need an officer token."
        ),
        lifespan=background_jobs,
    )
    app.state.context = context
    install_problem_handlers(app)
    app.include_router(meta_router)
    app.include_router(auth_router)
    app.include_router(residents_router)
    app.include_router(tickets_router)
    app.include_router(shared_faults_router)
    app.include_router(officer_router)
    app.include_router(open311_router)
    app.include_router(triage_router)
    app.include_router(usage_router)
    app.include_router(contact_router)
    app.include_router(channels_router)
    app.include_router(outbox_router)
    app.include_router(deliveries_router)
    app.include_router(announcements_router)
    app.include_router(alerts_router)
    workspace.install(app)
    app.add_middleware(
        BodySizeLimit,
        default_limit=context.settings.max_json_body_bytes,
        upload_limit=context.settings.max_photo_bytes + 64 * 1024,
    )
    # Added last, so it is the outermost: every response gets its request id, the body limit's refusals too.
    app.add_middleware(RequestGuard)
    return app
