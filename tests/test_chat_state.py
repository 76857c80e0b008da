"""A chat's shared edge state (`/api/v1/channel-state/...`), and the bot's ChatState over real HTTP: what lets
any replica of the bot take a chat's next update."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import httpx
import pytest

from bot.chat_state import ChatState, PendingPhoto
from bot.rasa_gateway import Button
from bot.repairs_client import RepairsClient
from bot.telegram.rendering import MAX_CALLBACK_BYTES, keyboard
from repairs.channels import state
from repairs.database import transaction, utcnow
from tests.conftest import SERVICE_HEADERS, SERVICE_TOKEN

BASE = "/api/v1/channel-state/telegram/4242"


def put(client, name: str, value, ttl: int = 60, only_if_absent: bool = False, headers=None):
    return client.put(f"{BASE}/{name}", headers=SERVICE_HEADERS if headers is None else headers,
                      json={"value": value, "ttl_seconds": ttl, "only_if_absent": only_if_absent})


def test_put_get_take_and_erase(client):
    assert put(client, "keyboard", 17).status_code == 201
    assert client.get(f"{BASE}/keyboard", headers=SERVICE_HEADERS).json() == {"value": 17}
    assert put(client, "keyboard", 18).status_code == 201, "a plain put replaces"
    taken = client.delete(f"{BASE}/keyboard", headers=SERVICE_HEADERS)
    assert (taken.status_code, taken.json()) == (200, {"value": 18})
    assert client.delete(f"{BASE}/keyboard", headers=SERVICE_HEADERS).status_code == 404, "taken once"
    assert client.get(f"{BASE}/keyboard", headers=SERVICE_HEADERS).status_code == 404
    photo = {"file_id": "abc", "caption": "under the sink", "file_size": 1234}
    assert put(client, "photo", photo).status_code == 201
    assert put(client, "payload:0123abcd", "/rate_repair{}").status_code == 201
    assert client.delete(BASE, headers=SERVICE_HEADERS).status_code == 204
    assert client.get(f"{BASE}/photo", headers=SERVICE_HEADERS).status_code == 404
    assert client.get(f"{BASE}/payload:0123abcd", headers=SERVICE_HEADERS).status_code == 404


def test_only_if_absent_lets_the_first_writer_win(client):
    assert put(client, "answered:99", True, only_if_absent=True).status_code == 201
    refused = put(client, "answered:99", True, only_if_absent=True)
    assert (refused.status_code, refused.json()["code"]) == (409, "already_set")
    assert put(client, "answered:100", True, only_if_absent=True).status_code == 201, "per message"
    other_chat = client.put("/api/v1/channel-state/telegram/4243/answered:99", headers=SERVICE_HEADERS,
                            json={"value": True, "ttl_seconds": 60, "only_if_absent": True})
    assert other_chat.status_code == 201, "per chat"


def test_expired_values_are_absent_and_swept(ctx):
    now = utcnow()
    with transaction(ctx.sessions) as s:
        assert state.put(s, "telegram", "1", "keyboard", "5", ttl=timedelta(seconds=30), now=now)
        assert state.get(s, "telegram", "1", "keyboard", now=now + timedelta(seconds=29)) == "5"
        assert state.get(s, "telegram", "1", "keyboard", now=now + timedelta(seconds=31)) is None
        assert state.take(s, "telegram", "1", "keyboard", now=now + timedelta(seconds=31)) is None
        assert state.put(s, "telegram", "1", "answered:1", "true", ttl=timedelta(seconds=30), only_if_absent=True,
                         now=now)
        assert state.put(s, "telegram", "1", "answered:1", "true", ttl=timedelta(seconds=30), only_if_absent=True,
                         now=now + timedelta(seconds=31)), "an expired value no longer counts"
        assert state.put(s, "telegram", "2", "photo", "{}", ttl=timedelta(seconds=1), now=now)
        assert state.prune(s, now=now + timedelta(seconds=5)) == 1
        assert state.get(s, "telegram", "1", "answered:1", now=now + timedelta(seconds=32)) == "true"


@pytest.mark.parametrize(("path", "body", "status"), [
    (f"{BASE}/keyboard", {"value": 1, "ttl_seconds": 0}, 422),
    (f"{BASE}/keyboard", {"value": 1, "ttl_seconds": 31 * 86400}, 422),
    (f"{BASE}/keyboard", {"value": 1}, 422),
    (f"{BASE}/keyboard", {"value": 1, "ttl_seconds": 5, "extra": 1}, 422),
    (f"{BASE}/Keyboard", {"value": 1, "ttl_seconds": 5}, 422),
    (f"{BASE}/payload:{'x' * 65}", {"value": 1, "ttl_seconds": 5}, 422),
    ("/api/v1/channel-state/fax/1/keyboard", {"value": 1, "ttl_seconds": 5}, 422),
    (f"{BASE}/photo", {"value": "x" * 9000, "ttl_seconds": 5}, 413),
])
def test_bad_requests_are_refused_plainly(client, path, body, status):
    response = client.put(path, headers=SERVICE_HEADERS, json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")


def test_only_the_service_token(client, factory, ctx):
    assert put(client, "keyboard", 1, headers={}).status_code == 401
    assert client.get(f"{BASE}/keyboard").status_code == 401
    assert client.delete(BASE).status_code == 401


def test_forgetting_a_chat_erases_what_the_bot_kept_for_it(client, factory, ctx):
    resident = factory.resident()
    chat = resident.chat.partition(":")[2]
    mine, other = f"/api/v1/channel-state/telegram/{chat}/photo", f"{BASE}/photo"
    for path in (mine, other):
        response = client.put(path, headers=SERVICE_HEADERS, json={"value": {"caption": "mould"}, "ttl_seconds": 60})
        assert response.status_code == 201
    assert client.delete("/api/v1/residents/me/identity", headers=resident.headers).status_code == 204
    assert client.get(mine, headers=SERVICE_HEADERS).status_code == 404
    assert client.get(other, headers=SERVICE_HEADERS).status_code == 200, "other chats keep theirs"


def test_two_replicas_racing_on_one_tap_get_one_answer(live_server):
    barrier = threading.Barrier(8)
    statuses: list[int] = []
    lock = threading.Lock()

    def tap() -> None:
        with httpx.Client(base_url=live_server.url, headers=SERVICE_HEADERS, timeout=30) as http:
            barrier.wait()
            status = put(http, "answered:7", True, only_if_absent=True).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=tap) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] + [409] * 7


def test_the_bots_chat_state_over_http(live_server):
    async def run() -> None:
        repairs = RepairsClient(live_server.url, SERVICE_TOKEN, timeout=5)
        chats = ChatState(repairs)
        try:
            await chats.keyboard_opened(31, 500)
            assert await chats.take_open_keyboard(31) == 500
            assert await chats.take_open_keyboard(31) is None

            await chats.keyboard_opened(31, 501)
            assert await chats.keyboard_answered(31, 501) is True
            assert await chats.keyboard_answered(31, 501) is False, "a second tap is ignored"
            assert await chats.take_open_keyboard(31) is None, "the answered keyboard is no longer open"
            await chats.keyboard_opened(31, 503)
            assert await chats.keyboard_answered(31, 502) is True
            assert await chats.take_open_keyboard(31) == 503, "answering an older keyboard leaves the newest open"

            photo = PendingPhoto(file_id="AgAD", file_size=2048, filename="photo.jpg", content_type="image/jpeg",
                                 caption="the leak")
            assert await chats.keep_photo(31, photo)
            assert await chats.take_photo(31) == photo
            assert await chats.take_photo(31) is None

            long_payload = '/rate_repair{"score": 5, "reference": "HR-7K3Q9M", "comment": "' + "x" * 40 + '"}'
            markup = await keyboard([Button("Yes", "/affirm"), Button("Rate it", long_payload)], 31, chats)
            assert markup is not None
            data = [str(b.callback_data) for row in markup.inline_keyboard for b in row]
            assert data[0] == "r|/affirm" and all(len(d.encode()) <= MAX_CALLBACK_BYTES for d in data)
            kind, _, key = data[1].partition("|")
            assert kind == "h" and await chats.payload(31, key) == long_payload
            assert await chats.payload(32, key) is None, "a payload resolves only in its own chat"
        finally:
            await repairs.aclose()

    asyncio.run(run())


def test_with_the_service_down_taps_still_count_and_nothing_is_remembered():
    """Fails open for taps (a resident whose every tap is ignored is worse than a rare double answer)."""
    from evaluation.rasa_process import free_port

    async def run() -> None:
        repairs = RepairsClient(f"http://127.0.0.1:{free_port()}", "token", timeout=2, retries=0)
        chats = ChatState(repairs)
        try:
            assert await chats.keyboard_answered(1, 1) is True
            assert await chats.take_open_keyboard(1) is None
            assert await chats.keep_photo(1, PendingPhoto("f", 1, "p.jpg", "image/jpeg", None)) is False
        finally:
            await repairs.aclose()

    asyncio.run(run())
