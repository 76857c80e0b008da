"""Conversations begun, counted by the repairs service at the channel edge (repairs/usage/conversations.py):
a chat's messages are one conversation until it has been idle for Rasa's session expiry. On SQLite and
PostgreSQL: `touch` itself, `POST /api/v1/assistant/conversations` (web chat), and the count that rides on
`POST /api/v1/channel-updates` with a chat (Telegram) is in tests/test_channel_updates.py."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import yaml
from sqlalchemy import func, select

from repairs.channels import state
from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.settings import Settings
from repairs.usage import conversations
from repairs.usage.conversations import touch
from repairs.usage.models import AssistantUsage, UsageEvent
from tests.conftest import SERVICE_HEADERS
from tests.factories import Factory

ROOT = Path(__file__).resolve().parent.parent
URL = "/api/v1/assistant/conversations"
IDLE = timedelta(minutes=60)


def counted(ctx: ServiceContext, channel: str | None = None) -> int:
    """Conversations counted, all days, on one channel or all."""
    query = select(func.coalesce(func.sum(AssistantUsage.count), 0)).where(
        AssistantUsage.event == UsageEvent.CONVERSATION.value)
    if channel is not None:
        query = query.where(AssistantUsage.channel == channel)
    with transaction(ctx.sessions) as s:
        return int(s.scalar(query) or 0)


def touched(ctx: ServiceContext, chat: str, now: datetime, channel: str = "telegram") -> bool:
    with transaction(ctx.sessions) as s:
        return touch(s, channel, chat, idle=IDLE, now=now)


def test_the_default_idle_time_is_rasas_session_expiry() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    expiry = domain["session_config"]["session_expiration_time"]
    assert Settings(_env_file=None).conversation_idle_minutes == expiry  # type: ignore[call-arg]
    assert Settings(_env_file=None).conversation_idle == timedelta(minutes=expiry)  # type: ignore[call-arg]


def test_a_conversation_is_counted_once_while_the_chat_keeps_talking(ctx: ServiceContext, backend: str) -> None:
    start = utcnow()
    assert touched(ctx, "501", start) is True
    # Each message pushes the idle time back: 50 minutes apart, four times, is still one conversation,
    # although the last comes well over an hour after the first.
    for step in range(1, 5):
        assert touched(ctx, "501", start + timedelta(minutes=50 * step)) is False
    assert counted(ctx) == 1
    with transaction(ctx.sessions) as s:
        live = state.get(s, "telegram", "501", conversations.NAME, now=start + timedelta(minutes=200 + 59))
    assert live is not None, "the value expires an idle time after the last message"


def test_after_the_idle_time_the_next_message_begins_a_new_conversation(ctx: ServiceContext, backend: str) -> None:
    start = utcnow() - timedelta(hours=3)
    assert touched(ctx, "502", start) is True
    assert touched(ctx, "502", start + IDLE - timedelta(seconds=1)) is False
    assert touched(ctx, "502", start + 2 * IDLE) is True  # idle an hour after the message before
    assert touched(ctx, "502", start + 2 * IDLE + timedelta(minutes=5)) is False
    assert counted(ctx, "telegram") == 2


def test_chats_and_channels_are_counted_apart(ctx: ServiceContext, backend: str) -> None:
    now = utcnow()
    assert touched(ctx, "601", now) and touched(ctx, "602", now)
    assert touched(ctx, "601", now, channel="web") is True  # the same id on another channel is another chat
    assert not touched(ctx, "601", now + timedelta(minutes=1)) and not touched(ctx, "602", now)
    assert (counted(ctx, "telegram"), counted(ctx, "web")) == (2, 1)
    with transaction(ctx.sessions) as s:
        rows = s.execute(select(AssistantUsage.channel, AssistantUsage.event, AssistantUsage.count)
                         .order_by(AssistantUsage.channel)).all()
    assert [tuple(r) for r in rows] == [("telegram", "conversation", 2), ("web", "conversation", 1)], \
        "counts and the channel's name only: the chat is not in the counters"


def test_forgetting_the_chat_ends_its_conversation(ctx: ServiceContext, client, factory: Factory,
                                                   backend: str) -> None:
    """/forget_me (the identity unlinked) and the edge's erase of a chat's state both take the value."""
    resident = factory.resident()
    linked = resident.chat.split(":", 1)[1]
    now = utcnow()
    assert touched(ctx, linked, now) and touched(ctx, "702", now) and touched(ctx, "703", now)
    assert client.delete("/api/v1/residents/me/identity", headers=resident.headers).status_code == 204
    assert client.delete("/api/v1/channel-state/telegram/702", headers=SERVICE_HEADERS).status_code == 204
    with transaction(ctx.sessions) as s:
        assert state.get(s, "telegram", linked, conversations.NAME) is None
        assert state.get(s, "telegram", "702", conversations.NAME) is None
        assert state.get(s, "telegram", "703", conversations.NAME) is not None, "other chats keep theirs"
    later = now + timedelta(minutes=1)
    assert touched(ctx, linked, later) and touched(ctx, "702", later) and not touched(ctx, "703", later)
    assert counted(ctx) == 5


# -- POST /api/v1/assistant/conversations (web chat's turns) ---------------------------------------------


def post(client, chat: str = "s" * 43, channel: str = "web", headers=None):  # type: ignore[no-untyped-def]
    return client.post(URL, headers=SERVICE_HEADERS if headers is None else headers,
                       json={"channel": channel, "chat": chat})


def test_the_first_turn_is_201_and_the_rest_of_the_conversation_204(client, ctx: ServiceContext,
                                                                      backend: str) -> None:
    first = post(client)
    assert (first.status_code, first.content) == (201, b"")
    assert [post(client).status_code for _ in range(3)] == [204, 204, 204]
    assert post(client, chat="another-browser").status_code == 201
    assert counted(ctx, "web") == 2


def test_the_idle_time_comes_from_the_settings(client, ctx: ServiceContext, backend: str) -> None:
    ctx.settings = ctx.settings.model_copy(update={"conversation_idle_minutes": 5})
    assert post(client).status_code == 201
    with transaction(ctx.sessions) as s:
        assert state.get(s, "web", "s" * 43, conversations.NAME, now=utcnow() + timedelta(minutes=4)) is not None
        assert state.get(s, "web", "s" * 43, conversations.NAME, now=utcnow() + timedelta(minutes=5, seconds=1)) is None


def test_only_the_service_token(client, factory: Factory, ctx: ServiceContext, backend: str) -> None:
    officer = factory.officer()
    assert post(client, headers={}).status_code == 401
    assert post(client, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert post(client, headers=officer.headers).status_code == 403
    assert counted(ctx) == 0


def test_bad_bodies_are_422_and_count_nothing(client, ctx: ServiceContext, backend: str) -> None:
    for body in ({"channel": "carrier_pigeon", "chat": "1"}, {"channel": "web", "chat": ""},
                 {"channel": "web", "chat": "x" * 129}, {"channel": "web", "chat": "a b"}, {"channel": "web"},
                 {"chat": "1"}, {"channel": "web", "chat": 5}, {"channel": "web", "chat": "1", "text": "hello"}):
        r = client.post(URL, headers=SERVICE_HEADERS, json=body)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")
    assert counted(ctx) == 0


def test_replicas_racing_on_a_new_conversation_count_it_once(live_server, ctx: ServiceContext, backend: str) -> None:
    barrier = threading.Barrier(8)
    codes: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=live_server.url, headers=SERVICE_HEADERS, timeout=30) as http:
            barrier.wait()
            r = http.post(URL, json={"channel": "web", "chat": "racing"})
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [201] + [204] * 7
    assert counted(ctx) == 1
