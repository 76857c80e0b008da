"""Closing the loop: one reply from an officer to everyone who raised a theme or a hotspot.

Each verified resident among them gets it through the outbox (keyed per theme and resident, so posting twice
sends once), and the outbox routes it to their linked chat. People who only posted on social media or
e-mailed cannot be reached from here: the officer gets the reply as a draft to post by hand. Visitors who
never verified left no way back (their chat is kept only as a keyed hash). The theme is marked answered,
with the reply, who and when, and kept as it is through later runs of the themes job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, insert, select
from sqlalchemy.orm import Session

from repairs.database import utcnow
from repairs.listening.models import Source, Theme, ThemeKind, ThemeMember, Utterance
from repairs.notifications.models import Notification

NOTIFICATION_KIND = "listening_reply"
MAX_REPLY = 1000


class AnswerRefused(ValueError):
    """Why the reply was not sent, in words for the officer."""


@dataclass(frozen=True)
class Answered:
    theme_id: int
    sent: int  # residents the outbox will reach
    drafts: int  # posts and e-mails from elsewhere: reply by hand
    unreachable: int  # unverified chats


def reply_text(text: str, council_name: str) -> str:
    return f"{text.strip()}\n\n{council_name} repairs team"


def answer_theme(session: Session, *, theme_id: int, officer_id: int, text: str, council_name: str,
                 now: datetime | None = None) -> Answered:
    body = text.strip()
    if not body:
        raise AnswerRefused("Write the reply residents will get.")
    if len(body) > MAX_REPLY:
        raise AnswerRefused(f"Keep the reply to {MAX_REPLY} characters.")
    theme = session.scalar(select(Theme).where(Theme.id == theme_id).with_for_update())
    if theme is None:
        raise AnswerRefused("That theme is no longer there: the themes were found again. Reload the page.")
    if theme.answered_at is not None:
        raise AnswerRefused("That theme was already answered.")
    members = select(ThemeMember.utterance_id).where(ThemeMember.theme_id == theme.id)
    residents = session.scalars(select(Utterance.resident_id).distinct().where(
        Utterance.id.in_(members), Utterance.resident_id.is_not(None))).all()
    drafts = int(session.scalar(select(func.count()).where(
        Utterance.id.in_(members), Utterance.source != Source.ASSISTANT)) or 0)
    unreachable = int(session.scalar(select(func.count(distinct(Utterance.sender_hash))).where(
        Utterance.id.in_(members), Utterance.source == Source.ASSISTANT, Utterance.resident_id.is_(None))) or 0)
    message = reply_text(body, council_name)
    if residents:
        session.execute(insert(Notification), [{
            "delivery_key": f"listening:{theme.id}:resident:{rid}", "resident_id": rid, "ticket_id": None,
            "kind": NOTIFICATION_KIND, "payload": {"text": message, "theme_id": theme.id},
        } for rid in residents])
    theme.answered_at = now or utcnow()
    theme.answered_by = officer_id
    theme.answer = body
    return Answered(theme.id, len(residents), drafts, unreachable)


def theme_for_hotspot(session: Session, *, block: str, category: str, label: str,
                      now: datetime | None = None) -> int:
    """A theme made of a hotspot's messages this week (one block, one kind of repair), to answer like any
    other; returns its id."""
    now = now or utcnow()
    ids = session.scalars(select(Utterance.id).where(
        Utterance.block == block, Utterance.category == category,
        Utterance.said_at >= now - timedelta(days=7))).all()
    if not ids:
        raise AnswerRefused("Nobody in that block raised it this week.")
    examples = session.scalars(select(Utterance.text).where(Utterance.id.in_(ids))
                               .order_by(Utterance.said_at.desc()).limit(3)).all()
    theme = Theme(kind=ThemeKind.THEME, label=label[:200], size=len(ids), this_week=len(ids), weekly_before=0.0,
                  is_new=False, blocks=[[block, len(ids)]], examples=list(examples), computed_at=now)
    session.add(theme)
    session.flush()
    session.execute(insert(ThemeMember), [{"theme_id": theme.id, "utterance_id": i} for i in ids])
    return theme.id


@dataclass(frozen=True)
class ThemeCounts:
    raised: int  # themes found by the latest run, plus those answered in the period
    answered: int


def theme_counts(session: Session, start: datetime, end: datetime) -> ThemeCounts:
    answered = int(session.scalar(select(func.count()).select_from(Theme).where(
        Theme.answered_at >= start, Theme.answered_at < end)) or 0)
    open_now = int(session.scalar(select(func.count()).select_from(Theme).where(
        Theme.answered_at.is_(None), Theme.kind == ThemeKind.THEME, Theme.computed_at >= start,
        Theme.computed_at < end)) or 0)
    return ThemeCounts(raised=open_now + answered, answered=answered)
