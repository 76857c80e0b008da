"""Run a create exactly once per (caller, Idempotency-Key), even when the duplicates arrive together.

The key row is inserted first, in the same transaction as the create. A concurrent duplicate's
insert then waits on the unique index (PostgreSQL) or the write lock (SQLite) until the first
commits, fails, and reads back the first result. A replay never creates a second ticket.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from repairs.idempotency.models import IdempotencyRecord
from repairs.problems import Problem

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def request_fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise Problem(
            400,
            "idempotency_key_missing",
            "Idempotency-Key header needed",
            "Creates must carry an Idempotency-Key header (a UUID is ideal) so a retry never makes a second record.",
        )
    key = key.strip()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(
            400,
            "idempotency_key_invalid",
            "Idempotency-Key not valid",
            f"Use printable text of at most {MAX_KEY_LENGTH} characters.",
        )
    return key


def _stored(session: Session, principal: str, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
    )


def _replay(record: IdempotencyRecord, fingerprint: str) -> Outcome:
    if record.request_hash != fingerprint:
        raise Problem(
            422,
            "idempotency_key_reused",
            "Idempotency-Key already used",
            "This Idempotency-Key was used with a different request body.",
        )
    assert record.status_code is not None and record.response_body is not None
    return Outcome(record.status_code, record.response_body, replayed=True)


def _is_key_conflict(exc: IntegrityError) -> bool:
    text = f"{exc.orig}".lower()
    return "idempotency" in text


def run_once(
    sessions: sessionmaker[Session],
    *,
    principal: str,
    key: str,
    fingerprint: str,
    create: Callable[[Session], tuple[int, dict[str, Any]]],
    attempts: int = 3,
) -> Outcome:
    """Create, and store the result under the key, in one transaction. A concurrent duplicate's key
    insert waits on the unique index (PostgreSQL) or the write lock (SQLite) until the first commits,
    then fails, and its whole transaction, ticket included, rolls back; it answers with the first result.
    Any other integrity error (a random reference drawn twice) retries the whole create."""
    with sessions() as session:
        for attempt in range(attempts):
            try:
                with session.begin():
                    # A replay is answered from the stored result, in the same transaction (one round trip).
                    record = _stored(session, principal, key)
                    if record is not None:
                        return _replay(record, fingerprint)
                    status_code, body = create(session)
                    session.add(
                        IdempotencyRecord(
                            principal=principal,
                            key=key,
                            request_hash=fingerprint,
                            status_code=status_code,
                            response_body=body,
                        )
                    )
                    session.flush()
                return Outcome(status_code, body, replayed=False)
            except IntegrityError as exc:
                if _is_key_conflict(exc):
                    break
                if attempt == attempts - 1:
                    raise
        with session.begin():
            record = _stored(session, principal, key)
            if record is None:  # pragma: no cover - the winner rolled back; let the client retry
                raise Problem(409, "retry", "Please retry", "A duplicate request was in flight; retry shortly.")
            return _replay(record, fingerprint)
