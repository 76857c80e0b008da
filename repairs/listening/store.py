"""Keeping what residents said: redacted, once per message, for a limited time, and forgotten on request.

Idempotent: each row carries its message's `event_key` under a unique constraint and is inserted with
ON CONFLICT DO NOTHING, so a redelivered event, or two replicas taking the same one, store it once. No
replica keeps anything another would need: the rows are the only state.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repairs.database import utcnow
from repairs.listening.events import HeardMessage
from repairs.listening.models import Source, Theme, Utterance
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


def _forget(session: Session, condition: ColumnElement[bool]) -> int:
    """Delete the utterances matching `condition`, and their words from any theme's examples (an answered
    theme keeps its examples after its members are gone)."""
    texts = set(session.scalars(select(Utterance.text).where(condition)))
    result = session.execute(delete(Utterance).where(condition).execution_options(synchronize_session=False))
    if texts:
        _drop_examples(session, lambda text: text in texts)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _drop_examples(session: Session, gone: Callable[[str], bool], *,
                   computed_before: datetime | None = None) -> None:
    # Themes are few (tens per run, plus the answered ones kept), so they are read and filtered here rather
    # than with JSON operators that differ between SQLite and PostgreSQL.
    query = select(Theme.id, Theme.examples)
    if computed_before is not None:
        query = query.where(Theme.computed_at < computed_before)
    for theme_id, examples in session.execute(query).all():
        kept = [text for text in examples or [] if not gone(text)]
        if len(kept) != len(examples or []):
            session.execute(update(Theme).where(Theme.id == theme_id).values(examples=kept)
                            .execution_options(synchronize_session=False))


def forget_chat(session: Session, *, secret: bytes, channel: str, external_id: str) -> int:
    """/forget_me: what this chat said goes, from before the chat was verified as well as after (every row
    carries the chat's hash; only the verified ones carry the resident)."""
    return _forget(session, Utterance.sender_hash == sender_hash(secret, channel, external_id))


def forget_resident(session: Session, resident_id: int, *, secret: bytes | None,
                    chats: Iterable[tuple[str, str]] = ()) -> int:
    """A resident's erasure: what they said on any chat goes, both the rows marked with them (said once
    verified) and, by the chats' hashes, what those chats said before they verified."""
    condition: ColumnElement[bool] = Utterance.resident_id == resident_id
    hashes = [sender_hash(secret, channel, external_id) for channel, external_id in chats] if secret else []
    if hashes:
        # Only the unattributed rows: a chat once verified as someone else keeps that person's words.
        condition = or_(condition, and_(Utterance.sender_hash.in_(hashes), Utterance.resident_id.is_(None)))
    return _forget(session, condition)


def delete_said_before(session: Session, cutoff: datetime, *, batch: int) -> int:
    """The retention run's part (repairs/personal_data/kinds.py, listening_utterances): one batch of what was
    said before `cutoff`. Once none is left, the examples of themes computed before it go too, so an answered
    theme kept for the reports' counts does not keep residents' words past the period."""
    ids = session.scalars(select(Utterance.id).where(Utterance.said_at < cutoff).order_by(Utterance.id)
                          .limit(batch)).all()
    if ids:
        session.execute(delete(Utterance).where(Utterance.id.in_(list(ids)))
                        .execution_options(synchronize_session=False))
    if len(ids) < batch:
        _drop_examples(session, lambda _text: True, computed_before=cutoff)
    return len(ids)


def chat_hash_key(settings: Settings) -> bytes | None:
    """The key chats are hashed with. Without it nothing was stored (the consumer needs one to key chats)."""
    key = settings.secret_key
    if key is None or not key.get_secret_value():
        return None
    return key.get_secret_value().encode()


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Utterance)) or 0)


def forget_chat_words(session: Session, settings: Settings, channel: str, external_id: str) -> int:
    """/forget_me's part here."""
    secret = chat_hash_key(settings)
    if secret is None:
        return 0
    return forget_chat(session, secret=secret, channel=channel, external_id=external_id)
