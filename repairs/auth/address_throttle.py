"""Failed officer sign-ins per client address, across every account: the defence against password
spraying (a few guesses at each of many accounts), which the per-account lock-out does not see.

Kept in the database, so it holds across replicas. An attempt is recorded as a failure *before* the
password is checked and forgotten when it succeeds: attempts still being checked count too, so a burst
sent in parallel to several replicas cannot slip past the limit, and successful sign-ins never count.
On PostgreSQL, checking the count and recording the attempt take a transaction-scoped advisory lock on
the address, so two replicas cannot both take the last free attempt; SQLite's writers already take turns.

The address is whatever the server says the client is (`request.client.host`): uvicorn replaces the
connection's address with X-Forwarded-For only when the connection comes from FORWARDED_ALLOW_IPS (a
trusted proxy), so a client cannot choose its own address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from repairs_common.client_addresses import client_network
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from repairs.auth.models import SignInFailure
from repairs.auth.throttle_keys import throttle_key, throttle_secret
from repairs.database import utcnow
from repairs.settings import Settings

KEEP = timedelta(days=1)  # older failures are no evidence of anything (and the window is at most a day)


@dataclass(frozen=True)
class AddressThrottle:
    max_failures: int
    window: timedelta
    secret: bytes  # keys the addresses' hashes (repairs/auth/throttle_keys.py)


def throttle_for(settings: Settings) -> AddressThrottle:
    return AddressThrottle(
        max_failures=settings.signin_address_max_failures,
        window=timedelta(minutes=settings.signin_address_window_minutes),
        secret=throttle_secret(settings),
    )


class TooManyFromAddress(Exception):
    """The client's address has had too many failed sign-ins lately; it may try again at `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__("too many failed sign-ins from this address")
        self.until = until


def address_key(host: str | None, secret: bytes) -> str:
    """The throttle's key for a client address: a keyed hash of its network (an IPv6 client by its /64,
    see repairs_common.client_addresses), never the address."""
    return throttle_key(secret, "sign-in-address", client_network(host))


def begin_attempt(session: Session, host: str | None, throttle: AddressThrottle, *, now: datetime | None = None) -> int:
    """Record a sign-in attempt from `host`, counted as a failure until `succeeded()`; raises
    TooManyFromAddress (recording nothing) when the address already has `max_failures` in the window.
    The caller commits before checking the password, so other replicas see the attempt."""
    now = now or utcnow()
    key = address_key(host, throttle.secret)
    if session.get_bind().dialect.name == "postgresql":
        # One attempt at a time per address, until this transaction ends (a lock, not a row to clean up).
        session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": int(key[:15], 16)})
    count, oldest = session.execute(
        select(func.count(), func.min(SignInFailure.attempted_at)).where(
            SignInFailure.key_hash == key, SignInFailure.attempted_at > now - throttle.window
        )
    ).one()
    if count >= throttle.max_failures:
        raise TooManyFromAddress((oldest or now) + throttle.window)
    attempt = SignInFailure(key_hash=key, attempted_at=now)
    session.add(attempt)
    session.execute(delete(SignInFailure).where(SignInFailure.attempted_at < now - KEEP))
    session.flush()
    return attempt.id


def succeeded(session: Session, attempt_id: int) -> None:
    """The attempt signed an officer in: it is not a failure."""
    session.execute(delete(SignInFailure).where(SignInFailure.id == attempt_id))
