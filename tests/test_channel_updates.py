"""`POST /api/v1/channel-updates`: each inbound update is taken once, across restarts and replicas."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from repairs.channels.models import ChannelUpdate
from repairs.channels.updates import prune, take_update
from repairs.database import transaction, utcnow
from repairs.usage.models import AssistantUsage, UsageEvent
from tests.conftest import SERVICE_HEADERS

URL = "/api/v1/channel-updates"


def post(client, update_id: str, channel: str = "telegram", headers=None):
    return client.post(URL, headers=SERVICE_HEADERS if headers is None else headers,
                       json={"channel": channel, "update_id": update_id})


def count(ctx) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(select(func.count()).select_from(ChannelUpdate))


def test_first_time_201_and_every_time_after_200(client, ctx):
    r = post(client, "123456789")
    assert (r.status_code, r.json()) == (201, {"first": True})
    for _ in range(2):
        r = post(client, "123456789")
        assert (r.status_code, r.json()) == (200, {"first": False})
    assert count(ctx) == 1


def test_ids_are_per_channel(client):
    assert post(client, "42").status_code == 201
    assert post(client, "42", channel="web").status_code == 201
    assert post(client, "43").status_code == 201


def test_replicas_racing_on_one_update_let_exactly_one_through(live_server, ctx):
    """With the chat too: the update is taken once, and its conversation counted once."""
    barrier = threading.Barrier(8)
    codes: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=live_server.url, headers=SERVICE_HEADERS, timeout=30) as http:
            barrier.wait()
            r = http.post(URL, json={"channel": "telegram", "update_id": "777", "chat": "5003"})
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [200] * 7 + [201]
    assert count(ctx) == 1 and conversations(ctx) == 1


def test_old_updates_are_pruned_and_recent_ones_kept(ctx):
    now = utcnow()
    with transaction(ctx.sessions) as s:
        assert take_update(s, "telegram", "old", now=now - timedelta(days=8))
        assert take_update(s, "telegram", "recent", now=now - timedelta(days=6))
    with transaction(ctx.sessions) as s:
        assert prune(s, now=now) == 1
    with transaction(ctx.sessions) as s:
        assert set(s.scalars(select(ChannelUpdate.update_id))) == {"recent"}
        # Pruning rides along with inserts: the insert that lands on the interval prunes.
        assert take_update(s, "telegram", "old-again", now=now - timedelta(days=9))
        assert take_update(s, "telegram", "trigger", now=now, prune_every=1)
    with transaction(ctx.sessions) as s:
        assert set(s.scalars(select(ChannelUpdate.update_id))) == {"recent", "trigger"}


def test_bad_bodies_are_422(client, ctx):
    for body in ({"channel": "carrier_pigeon", "update_id": "1"}, {"channel": "telegram", "update_id": ""},
                 {"channel": "telegram", "update_id": "x" * 65}, {"channel": "telegram", "update_id": "a b"},
                 {"channel": "telegram"}, {"channel": "telegram", "update_id": "1", "text": "hello"},
                 {"channel": "telegram", "update_id": "1", "chat": ""},
                 {"channel": "telegram", "update_id": "1", "chat": "x" * 129},
                 {"channel": "telegram", "update_id": "1", "chat": "12 34"},
                 {"channel": "telegram", "update_id": "1", "chat": 1234}):
        r = client.post(URL, headers=SERVICE_HEADERS, json=body)
        assert r.status_code == 422, body
    assert count(ctx) == 0 and conversations(ctx) == 0


def conversations(ctx) -> int:
    with transaction(ctx.sessions) as s:
        return int(s.scalar(select(func.coalesce(func.sum(AssistantUsage.count), 0))
                            .where(AssistantUsage.event == UsageEvent.CONVERSATION.value)) or 0)


def test_with_the_chat_a_first_seen_update_counts_the_conversation_it_begins(client, ctx):
    """Telegram's edge counts conversations with the claim it makes anyway: no second call per message."""
    def claim(update_id: str, chat: str | None):  # type: ignore[no-untyped-def]
        body = {"channel": "telegram", "update_id": update_id} | ({} if chat is None else {"chat": chat})
        return client.post(URL, headers=SERVICE_HEADERS, json=body)

    assert claim("100", "5001").status_code == 201
    assert conversations(ctx) == 1
    assert claim("101", "5001").status_code == 201 and claim("102", "5001").status_code == 201
    assert conversations(ctx) == 1, "the same conversation"
    # Telegram sends an update again (a webhook retry): still one claim, and no second conversation, even
    # when the chat's conversation has since been forgotten.
    assert client.delete("/api/v1/channel-state/telegram/5001", headers=SERVICE_HEADERS).status_code == 204
    assert (claim("102", "5001").status_code, claim("102", "5001").json()) == (200, {"first": False})
    assert conversations(ctx) == 1
    assert claim("103", "5002").status_code == 201  # another chat: another conversation
    assert conversations(ctx) == 2
    # Old callers, and updates that are not a resident's (the officers' group), send no chat: nothing counted.
    assert claim("104", None).status_code == 201
    assert conversations(ctx) == 2
    with transaction(ctx.sessions) as s:
        channels = set(s.scalars(select(AssistantUsage.channel)))
    assert channels == {"telegram"}


def test_only_the_service_token(client, factory, ctx):
    officer = factory.officer()
    assert post(client, "1", headers={}).status_code == 401
    assert post(client, "1", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert post(client, "1", headers=officer.headers).status_code == 403
    assert count(ctx) == 0
