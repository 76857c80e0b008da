"""Keeping what residents said: redacted, once per message, for a limited time, and forgotten on request.

Idempotent: each row carries its message's `event_key` under a unique constraint and is inserted with
ON CONFLICT DO NOTHING, so a redelivered event, or two replicas taking the same one, store it once. No
replica keeps anything another would need: the rows are the only state.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repairs.database import utcnow
from repairs.listening.events import HeardMessage
from repairs.listening.models import Source, Utterance
from repairs.listening.redaction import KnownNames, redact
from repairs.residents.models import ChannelIdentity, Property, Resident, Tenancy
from repairs.settings import Settings


def sender_hash(secret: bytes, channel: str, external_id: str) -> str:
    """A keyed hash of a chat: enough to find its rows for /forget_me, useless to anyone without the secret."""
    return hmac.new(secret, f"listening\x1f{channel}:{external_id}".encode("utf-8", "surrogatepass"),
                    hashlib.sha256).hexdigest()


def known_names(session: Session) -> KnownNames:
    """Every resident's name on record, less the words of block and estate names."""
    names = session.scalars(select(Resident.full_name))
    places = session.execute(select(Property.block, Property.estate).distinct()).all()
    return KnownNames.from_full_names(names, [p for row in places for p in row if p])


@dataclass(frozen=True)
class _Speaker:
    resident_id: int
    full_name: str
    block: str | None
    estate: str | None


def _speakers(session: Session, chats: set[tuple[str, str]]) -> dict[tuple[str, str], _Speaker]:
    if not chats:
        return {}
    rows = session.execute(
        select(ChannelIdentity.channel, ChannelIdentity.external_id, Resident.id, Resident.full_name,
               Property.block, Property.estate)
        .join(Resident, Resident.id == ChannelIdentity.resident_id)
        .join(Tenancy, Tenancy.id == Resident.tenancy_id)
        .join(Property, Property.id == Tenancy.property_id)
        .where(tuple_(ChannelIdentity.channel, ChannelIdentity.external_id).in_(list(chats)))
    ).all()
    return {(r[0], r[1]): _Speaker(r[2], r[3], r[4], r[5]) for r in rows}


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, object]]) -> int:
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING counts what was new on both databases (psycopg's rowcount for a multi-row VALUES is not it).
    statement = (insert(Utterance).values(rows).on_conflict_do_nothing(index_elements=["event_key"])
                 .returning(Utterance.id))
    return len(session.execute(statement).all())


def store_heard(session: Session, messages: Sequence[HeardMessage], *, secret: bytes,
                names: KnownNames | None = None) -> int:
    """Store the assistant's messages, redacted; returns how many were new."""
    if not messages:
        return 0
    speakers = _speakers(session, {(m.channel, m.external_id) for m in messages})
    names = names if names is not None else known_names(session)
    now = utcnow()
    rows: list[dict[str, object]] = []
    for m in messages:
        who = speakers.get((m.channel, m.external_id))
        rows.append({
            "event_key": m.event_key, "source": Source.ASSISTANT.value, "channel": m.channel[:20],
            "sender_hash": sender_hash(secret, m.channel, m.external_id),
            "resident_id": who.resident_id if who else None,
            "text": redact(m.text, names, own_names=[who.full_name] if who else ())[:2000],
            "intent": m.intent, "category": m.category, "confidence": m.confidence, "fell_back": m.fell_back,
            "block": who.block if who else None, "estate": who.estate if who else None,
            "said_at": m.said_at, "stored_at": now,
        })
    return _insert_ignoring_duplicates(session, rows)


@dataclass(frozen=True)
class Post:
    """A post or e-mail an officer brought in. `text` is raw: redacted when stored."""

    text: str
    source: Source
    said_at: datetime
    block: str | None = None
    estate: str | None = None


def store_posts(session: Session, posts: Iterable[Post], *, names: KnownNames | None = None) -> int:
    """Store posts and e-mails from elsewhere, redacted. The same post imported twice is kept once."""
    from repairs.listening.events import event_key

    names = names if names is not None else known_names(session)
    now = utcnow()
    rows: list[dict[str, object]] = [{
        "event_key": event_key("post", p.source.value, p.said_at.isoformat(), p.text),
        "source": p.source.value, "channel": p.source.value, "sender_hash": None, "resident_id": None,
        "text": redact(p.text, names)[:2000], "intent": None, "category": None, "confidence": None,
        "fell_back": False, "block": p.block, "estate": p.estate, "said_at": p.said_at, "stored_at": now,
    } for p in posts]
    return _insert_ignoring_duplicates(session, rows)


def forget_chat(session: Session, *, secret: bytes, channel: str, external_id: str) -> int:
    """/forget_me: what this chat said goes."""
    result = session.execute(
        delete(Utterance).where(Utterance.sender_hash == sender_hash(secret, channel, external_id)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def forget_resident(session: Session, resident_id: int) -> int:
    """A resident's erasure: what they said on any chat goes (the foreign key does the same on delete)."""
    result = session.execute(delete(Utterance).where(Utterance.resident_id == resident_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired(session: Session, *, retention: timedelta, now: datetime | None = None,
                  batch: int = 5000) -> int:
    """Delete one batch of utterances older than the retention; returns how many went."""
    cutoff = (now or utcnow()) - retention
    ids = select(Utterance.id).where(Utterance.said_at < cutoff).limit(batch).scalar_subquery()
    result = session.execute(delete(Utterance).where(Utterance.id.in_(ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Utterance)) or 0)


def forget_chat_words(session: Session, settings: Settings, channel: str, external_id: str) -> int:
    """/forget_me's part here. Without a secret key nothing was stored (the consumer needs one to key chats)."""
    key = settings.secret_key
    if key is None or not key.get_secret_value():
        return 0
    return forget_chat(session, secret=key.get_secret_value().encode(), channel=channel, external_id=external_id)
