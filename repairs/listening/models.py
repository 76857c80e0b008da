"""What residents said, redacted, and who looked at it.

An utterance is one message: from the assistant (through Rasa's event broker) or pasted or imported by an
officer (a post or an e-mail that arrived elsewhere, `source` says where). The raw text is never stored.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from repairs.database import Base, UTCDateTime, utcnow


class Source(enum.StrEnum):
    ASSISTANT = "assistant"
    SOCIAL = "social"  # a social media post an officer pasted or imported
    EMAIL = "email"  # an e-mail to the council's inbox
    OTHER = "other"


class Utterance(Base):
    __tablename__ = "listening_utterances"
    __table_args__ = (
        Index("ix_listening_utterances_block_said", "block", "said_at"),
        # The dissatisfaction counts read only scored messages: most are not, until the classifier runs.
        Index("ix_listening_utterances_scored_said", "said_at", postgresql_where=text("dissatisfaction IS NOT NULL"),
              sqlite_where=text("dissatisfaction IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What makes a re-delivered event the same row (Rasa's message id with its sender, or an import's
    # hash): unique, so replicas and redeliveries never store a message twice.
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[Source] = mapped_column(
        Enum(Source, native_enum=False, length=20, values_callable=lambda x: [m.value for m in x])
    )
    channel: Mapped[str] = mapped_column(String(20))  # telegram, web, ... or the source for imported posts
    # A keyed hash of the chat (channel:id), so /forget_me finds the chat's rows without the rows naming it.
    sender_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The verified resident; their erasure takes these rows with it.
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(2000))  # redacted (repairs/listening/redaction.py)
    intent: Mapped[str | None] = mapped_column(String(60))
    category: Mapped[str | None] = mapped_column(String(40))
    confidence: Mapped[float | None] = mapped_column(Float)
    fell_back: Mapped[bool] = mapped_column(Boolean, default=False)
    block: Mapped[str | None] = mapped_column(String(100))
    estate: Mapped[str | None] = mapped_column(String(100), index=True)
    said_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 0..1 from the dissatisfaction classifier (another module fills it); null until scored.
    dissatisfaction: Mapped[float | None] = mapped_column(Float)
    # The sentence encoder's vector of the redacted text (float16 bytes), made once by the themes job.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)


class ViewAction(enum.StrEnum):
    PAGE = "page"
    CSV = "csv"
    IMPORT = "import"
    ANSWER = "answer"


class ListeningView(Base):
    """Every look at (or addition to) what residents said, by which officer and when: the audit trail."""

    __tablename__ = "listening_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    action: Mapped[ViewAction] = mapped_column(
        Enum(ViewAction, native_enum=False, length=20, values_callable=lambda x: [m.value for m in x])
    )
    # What was asked for (the page's filter, an import's row count), never what residents said.
    detail: Mapped[str | None] = mapped_column(String(200))


class ThemeKind(enum.StrEnum):
    THEME = "theme"
    NOT_UNDERSTOOD = "not_understood"  # what the assistant fell back on or called out of scope


class Theme(Base):
    """A group of utterances about one thing, as the themes job last found it (repairs/listening/themes.py).
    Unanswered themes are replaced at each run; an answered one is kept with its members and its answer."""

    __tablename__ = "listening_themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ThemeKind] = mapped_column(
        Enum(ThemeKind, native_enum=False, length=20, values_callable=lambda x: [m.value for m in x])
    )
    label: Mapped[str] = mapped_column(String(200))  # its most distinctive words
    size: Mapped[int] = mapped_column(Integer)
    this_week: Mapped[int] = mapped_column(Integer)
    weekly_before: Mapped[float] = mapped_column(Float)  # the weekly average in the weeks before
    is_new: Mapped[bool] = mapped_column(Boolean, default=False)
    blocks: Mapped[list[list[object]]] = mapped_column(JSON, default=list)  # [[block, count], ...]
    examples: Mapped[list[str]] = mapped_column(JSON, default=list)  # redacted
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    answer: Mapped[str | None] = mapped_column(Text)


class ThemeMember(Base):
    __tablename__ = "listening_theme_members"

    theme_id: Mapped[int] = mapped_column(ForeignKey("listening_themes.id", ondelete="CASCADE"), primary_key=True)
    utterance_id: Mapped[int] = mapped_column(
        ForeignKey("listening_utterances.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SavedHotspot(Base):
    """A hotspot as the background job last found it (repairs/listening/hotspots.py): the page reads these
    rather than aggregating weeks of messages on every view."""

    __tablename__ = "listening_hotspots"

    id: Mapped[int] = mapped_column(primary_key=True)
    block: Mapped[str] = mapped_column(String(100))
    estate: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(40))
    this_week: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)
    homes: Mapped[int] = mapped_column(Integer)
    suggestion: Mapped[str | None] = mapped_column(String(200))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
