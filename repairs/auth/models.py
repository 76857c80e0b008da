"""Officer accounts, their API sessions, and API keys for Open311 clients."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from repairs.database import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"


class Officer(Base):
    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda x: [m.value for m in x])
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The officer's own Telegram user id, so a tap on an emergency alert in the officers' group is theirs.
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # The "insight" permission: may read what residents said (the listening page), whatever the role.
    insight: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The "data protection" permission: may export everything held about a resident (subject access) and
    # erase them (repairs/personal_data/), whatever the role.
    data_protection: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class OfficerSession(Base):
    """A bearer token (API) or cookie session (workspace); only its sha256 is stored."""

    __tablename__ = "officer_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When a workspace session last served a page, to within a minute (see auth/officers.py); null for
    # sessions from before it was kept, whose created_at stands in. API tokens have no idle timeout.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    officer: Mapped[Officer] = relationship()


class SignInFailure(Base):
    """A sign-in from a client address that did not succeed (or has not yet): counted across every
    account, so one address trying many accounts (password spraying) is slowed down on every replica.
    See repairs/auth/address_throttle.py."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key_hash", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A keyed hash (HMAC with REPAIRS_SECRET_KEY) of the client's address (an IPv6 one by its /64), never the address.
    key_hash: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ApiKey(Base):
    """A key for an Open311 client (FixMyStreet and the like); only its sha256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountAction(enum.StrEnum):
    CREATED = "created"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - the name of an action, not a password
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - by the officer themselves
    UNLOCKED = "unlocked"
    ROLE_CHANGED = "role_changed"
    TELEGRAM_LINKED = "telegram_linked"  # by the officer, from the account itself (a one-time code)
    TELEGRAM_UNLINKED = "telegram_unlinked"
    INSIGHT_GRANTED = "insight_granted"
    INSIGHT_REVOKED = "insight_revoked"
    # Short values: the column holds 20 characters.
    DATA_PROTECTION_GRANTED = "dp_granted"
    DATA_PROTECTION_REVOKED = "dp_revoked"


class OfficerAccountEvent(Base):
    """A change made to an officer's account, by whom and when. Kept for audit: no passwords, no e-mail
    addresses (a new role is the only detail worth keeping, in `detail`)."""

    __tablename__ = "officer_account_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Null when made outside the workspace (the command line).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    action: Mapped[AccountAction] = mapped_column(
        Enum(AccountAction, native_enum=False, length=20, values_callable=lambda x: [m.value for m in x])
    )
    detail: Mapped[str | None] = mapped_column(String(40))
