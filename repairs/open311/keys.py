"""Open311 API keys: a client (FixMyStreet and the like) sends `api_key`; we keep only its sha256.

The key is looked up by its digest, so no stored secret is ever compared character by character.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from repairs.auth.models import ApiKey
from repairs.auth.secrets import digest
from repairs.database import transaction
from repairs.problems import Problem

MAX_KEY_LENGTH = 256


@dataclass(frozen=True)
class ApiClient:
    id: int
    name: str

    @property
    def principal(self) -> str:
        """Who the Idempotency-Key belongs to."""
        return f"open311:{self.id}"

    @property
    def actor_id(self) -> str:
        return self.name[:64]  # ticket_events.actor_id is 64 characters


def _refused(detail: str) -> Problem:
    return Problem(403, "forbidden", "Not allowed", detail)


def check_api_key(sessions: sessionmaker[Session], raw: str | None) -> ApiClient:
    """The active client this key belongs to, or a 403 problem (missing, malformed, unknown or revoked)."""
    if raw is None or not raw.strip():
        raise _refused("An api_key is needed for this request.")
    key = raw.strip()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise _refused("The api_key is not valid.")
    with transaction(sessions) as session:
        row = session.execute(
            select(ApiKey.id, ApiKey.name).where(ApiKey.key_hash == digest(key), ApiKey.active.is_(True))
        ).first()
    if row is None:
        raise _refused("The api_key is not valid.")
    return ApiClient(id=row.id, name=row.name)
