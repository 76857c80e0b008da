"""Imports every model module so `Base.metadata` knows all tables (for Alembic and tests)."""

from repairs.alerts import models as alert_models
from repairs.announcements import models as announcement_models
from repairs.auth import models as auth_models
from repairs.channels import models as channel_models
from repairs.database import Base
from repairs.idempotency import models as idempotency_models
from repairs.listening import models as listening_models
from repairs.notifications import models as notification_models
from repairs.personal_data import models as personal_data_models
from repairs.reports import day_counts as report_models
from repairs.residents import models as resident_models
from repairs.tickets import models as ticket_models
from repairs.usage import models as usage_models

metadata = Base.metadata

__all__ = [
    "alert_models",
    "announcement_models",
    "auth_models",
    "channel_models",
    "idempotency_models",
    "listening_models",
    "metadata",
    "notification_models",
    "personal_data_models",
    "report_models",
    "resident_models",
    "ticket_models",
    "usage_models",
]
