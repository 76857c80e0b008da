"""Failed identity checks, counted in the database (so every replica sees them) under four keys at once:

- the chat: one person guessing;
- the tenancy reference: many chats guessing one reference;
- the client: for web chat, a keyed digest of the address the bot saw (`X-Resident-Client`), so fresh
  sessions from one address are still one client; for a chat without one (Telegram), the chat itself;
- the postcode: one estate's postcode tried with many references, from anywhere.

Each key is an HMAC with the service secret (repairs/auth/throttle_keys.py), never the value itself.

As with officer sign-ins (repairs/auth/address_throttle.py), an attempt is recorded as a failure *before*
the details are checked, in its own committed transaction, and forgotten when it succeeds: a burst sent in
parallel to several replicas cannot slip past a limit, and a failure survives the rollback of the check.
On PostgreSQL, counting and recording take transaction-scoped advisory locks on the keys (in one order, so
two attempts cannot deadlock); SQLite's writers already take turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from repairs_common.postcodes import normalise_postcode
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from repairs.auth.throttle_keys import throttle_key, throttle_secret
from repairs.database import utcnow
from repairs.residents.models import VerificationAttempt
from repairs.settings import Settings

KEEP = timedelta(days=1)  # older attempts are no evidence of anything (every window is at most a day)


class TooManyAttempts(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many attempts")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window: timedelta


@dataclass(frozen=True)
class VerifyThrottles:
    secret: bytes
    per_chat: ThrottlePolicy  # and per tenancy reference
    per_client: ThrottlePolicy
    per_postcode: ThrottlePolicy


def throttles_for(settings: Settings) -> VerifyThrottles:
    return VerifyThrottles(
        secret=throttle_secret(settings),
        per_chat=ThrottlePolicy(settings.verify_max_failures, timedelta(minutes=settings.verify_window_minutes)),
        per_client=ThrottlePolicy(
            settings.verify_client_max_failures, timedelta(minutes=settings.verify_client_window_minutes)
        ),
        per_postcode=ThrottlePolicy(
            settings.verify_postcode_max_failures, timedelta(minutes=settings.verify_postcode_window_minutes)
        ),
    )


@dataclass(frozen=True)
class VerifyRequest:
    """Who is asking and with what, as far as the throttles care."""

    channel: str
    external_id: str
    tenancy_reference: str
    postcode: str
    client: str | None = None  # the bot's digest of a web chat's address; None: the chat is the client


def counted_keys(throttles: VerifyThrottles, request: VerifyRequest) -> list[tuple[str, ThrottlePolicy]]:
    chat = f"{request.channel}:{request.external_id}"
    client = f"digest:{request.client}" if request.client else f"chat:{chat}"
    postcode = normalise_postcode(request.postcode) or request.postcode.strip().upper()
    secret = throttles.secret
    return [
        (throttle_key(secret, "verify-chat", chat), throttles.per_chat),
        (throttle_key(secret, "verify-reference", request.tenancy_reference), throttles.per_chat),
        (throttle_key(secret, "verify-client", client), throttles.per_client),
        (throttle_key(secret, "verify-postcode", postcode), throttles.per_postcode),
    ]


def begin_attempt(
    session: Session, throttles: VerifyThrottles, request: VerifyRequest, *, now: datetime | None = None
) -> list[int]:
    """Record an identity check under each of its keys, counted as a failure until `succeeded()`; raises
    TooManyAttempts (recording nothing) when any key already has its limit in its window. The caller
    commits before checking the details, so other replicas see the attempt."""
    return begin_counted(session, counted_keys(throttles, request), now=now)


def begin_counted(
    session: Session, keys: Sequence[tuple[str, ThrottlePolicy]], *, now: datetime | None = None
) -> list[int]:
    """`begin_attempt` for any check that proves who someone is (also an officer's Telegram link code):
    the keys, each a keyed hash with its own limit."""
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted({key for key, _ in keys}):
            session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": int(key[:15], 16)})
    wait = 0
    for key, policy in keys:
        count, oldest = session.execute(
            select(func.count(), func.min(VerificationAttempt.attempted_at)).where(
                VerificationAttempt.key_hash == key, VerificationAttempt.attempted_at > now - policy.window
            )
        ).one()
        if count >= policy.max_failures:
            until = (oldest or now) + policy.window
            wait = max(wait, int((until - now).total_seconds()) + 1)
    if wait:
        raise TooManyAttempts(wait)
    rows = [VerificationAttempt(key_hash=key, attempted_at=now) for key, _ in keys]
    session.add_all(rows)
    session.execute(delete(VerificationAttempt).where(VerificationAttempt.attempted_at < now - KEEP))
    session.flush()
    return [row.id for row in rows]


def succeeded(session: Session, attempt_ids: Sequence[int]) -> None:
    """The check matched (or failed on our side): the attempt is not a failure."""
    if attempt_ids:
        session.execute(delete(VerificationAttempt).where(VerificationAttempt.id.in_(list(attempt_ids))))
