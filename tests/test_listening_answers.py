"""Closing the loop: one reply to a theme or hotspot reaches every verified resident who raised it through the
outbox, once; posts from elsewhere get a draft; the theme is marked answered and survives later runs; the
reports page counts themes raised and answered."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from repairs.auth.models import Role
from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.listening import hotspots
from repairs.listening.consumers import NamesCache, store_batch
from repairs.listening.models import Source, Theme, ThemeKind, ThemeMember, Utterance
from repairs.listening.store import Post, store_posts
from repairs.listening.themes import save_themes
from repairs.notifications.models import Notification
from tests.factories import Factory
from tests.test_listening_store import user_event
from tests.workspace_client import csrf_of, sign_in, text_of


def _lift_theme(ctx: ServiceContext, factory: Factory) -> tuple[int, list[int]]:
    residents = [factory.resident(block="Bramley House") for _ in range(3)]
    events = [user_event(r.chat, "the lift is broken", message_id=f"m{i}") for i, r in enumerate(residents)]
    events.append(user_event(residents[0].chat, "the lift is still broken", message_id="again"))
    events.append(user_event("web:never-verified", "lift broken at Bramley", message_id="anon"))
    store_batch(ctx, events, NamesCache())
    now = utcnow()
    with transaction(ctx.sessions) as session:
        store_posts(session, [Post(text="@council the lift at Bramley House is broken", source=Source.SOCIAL,
                                   said_at=now, block="Bramley House")])
        ids = list(session.scalars(sa.select(Utterance.id)))
        theme = Theme(kind=ThemeKind.THEME, label="lift, broken, bramley", size=len(ids), this_week=len(ids),
                      weekly_before=0, is_new=True, blocks=[["Bramley House", len(ids)]], examples=[], computed_at=now)
        session.add(theme)
        session.flush()
        session.add_all([ThemeMember(theme_id=theme.id, utterance_id=i) for i in ids])
        return theme.id, [r.id for r in residents]


def _signed_in(client: TestClient, factory: Factory, role: Role = Role.OFFICER) -> str:
    officer = factory.officer(insight=True, role=role)
    sign_in(client, officer.email, officer.password, next_path="/officer/listening")
    return csrf_of(client.get("/officer/listening").text)


def test_one_reply_reaches_every_verified_resident_once_and_marks_the_theme(client: TestClient,
                                                                            ctx: ServiceContext,
                                                                            factory: Factory) -> None:
    theme_id, resident_ids = _lift_theme(ctx, factory)
    csrf = _signed_in(client, factory)
    sent = client.post(f"/officer/listening/themes/{theme_id}/answer",
                       data={"csrf_token": csrf,
                             "text": "The lift at Bramley House is fixed; thank you for telling us."},
                       follow_redirects=False)
    assert sent.status_code == 303 and "sent=3&drafts=1&unreachable=1" in sent.headers["location"]
    with transaction(ctx.sessions) as session:
        notes = session.execute(sa.select(Notification.resident_id, Notification.payload)).all()
        theme = session.get(Theme, theme_id)
        assert theme is not None and theme.answered_at is not None and theme.answer and "fixed" in theme.answer
    assert sorted(r for r, _ in notes) == sorted(resident_ids)
    assert all("The lift at Bramley House is fixed" in p["text"] for _, p in notes)
    again = client.post(f"/officer/listening/themes/{theme_id}/answer",
                        data={"csrf_token": csrf, "text": "Fixed again"}, follow_redirects=False)
    assert again.status_code == 422 and "already answered" in text_of(again.text)
    page = text_of(client.get(f"/officer/listening{sent.headers['location'].split('/officer/listening')[1]}").text)
    assert "Reply sent to 3 resident(s)" in page and "Draft for social media" in page
    # The themes job runs again: the answered theme stays, with its members.
    with transaction(ctx.sessions) as session:
        save_themes(session, [], now=utcnow())
    with transaction(ctx.sessions) as session:
        assert session.get(Theme, theme_id) is not None
        assert session.scalar(sa.select(sa.func.count()).select_from(ThemeMember)) == 6


def test_an_empty_reply_sends_nothing(client: TestClient, ctx: ServiceContext, factory: Factory) -> None:
    theme_id, _ = _lift_theme(ctx, factory)
    csrf = _signed_in(client, factory)
    refused = client.post(f"/officer/listening/themes/{theme_id}/answer", data={"csrf_token": csrf, "text": "  "},
                          follow_redirects=False)
    assert refused.status_code == 422
    with transaction(ctx.sessions) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_a_hotspot_is_answered_like_a_theme_and_the_reports_count_it(client: TestClient, ctx: ServiceContext,
                                                                     factory: Factory) -> None:
    residents = [factory.resident(block="Alder House") for _ in range(3)]
    old = (utcnow() - timedelta(days=20)).timestamp()
    store_batch(ctx, [user_event(r.chat, "black mould in the bedroom", intent="repair_damp_mould",
                                 message_id=f"d{i}") for i, r in enumerate(residents)]
                + [user_event(residents[0].chat, "old damp", intent="repair_damp_mould", message_id="old",
                              timestamp=old)], NamesCache())
    with transaction(ctx.sessions) as session:  # as the background job does with the themes
        hotspots.refresh(session, now=utcnow())
    csrf = _signed_in(client, factory, role=Role.SUPERVISOR)
    page = text_of(client.get("/officer/listening").text)
    assert "Alder House" in page and "proactive inspection" in page
    sent = client.post("/officer/listening/hotspots/answer", data={
        "csrf_token": csrf, "block": "Alder House", "category": "damp_mould",
        "text": "We will inspect every home in Alder House for damp and mould next week."}, follow_redirects=False)
    assert sent.status_code == 303 and "sent=3" in sent.headers["location"]
    with transaction(ctx.sessions) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 3
    reports = text_of(client.get("/officer/reports").text)
    assert "Themes answered 1" in reports
