"""Identity checks cannot be sprayed: failures are counted per client (the bot's digest of a web chat's
address, or a Telegram chat) and per postcode as well as per chat and per reference, in the database so
every replica sees them, under keys that are HMACs with the service secret."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from repairs.app import create_app
from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.residents.models import VerificationAttempt
from tests.factories import Factory
from tests.serving import serving

CLIENT = "k" * 43  # what the bot sends: a keyed digest, 43 characters of base64url
OTHER_CLIENT = "m" * 43


def verify(http: TestClient | httpx.Client, headers: dict[str, str], ref: str, postcode: str, *, chat: str,
           client: str | None = None, channel: str = "web") -> httpx.Response:
    extra = {"X-Resident-Client": client} if client else {}
    return http.post(
        "/api/v1/residents/verify",
        headers={**headers, **extra},
        json={"tenancy_reference": ref, "postcode": postcode, "channel": channel, "channel_user_id": chat},
    )


def attempts(ctx: ServiceContext) -> list[str]:
    with transaction(ctx.sessions) as s:
        return list(s.scalars(sa.select(VerificationAttempt.key_hash)))


@pytest.fixture
def small(ctx: ServiceContext) -> Iterator[None]:
    """Small limits, so a test reaches them quickly: 3 per client, 4 per postcode, both an hour."""
    ctx.settings = ctx.settings.model_copy(update={"verify_client_max_failures": 3, "verify_postcode_max_failures": 4})
    yield


def test_one_client_trying_from_fresh_sessions_is_stopped(
    client: TestClient, factory: Factory, service_headers: dict[str, str], small: None, backend: str
) -> None:
    res = factory.resident(linked=False, postcode="NW5 2TX")
    # Each guess from a new session (chat), at a different reference and postcode: only the client is common.
    for n, postcode in enumerate(["E1 6AN", "N1 9GU", "SE1 7PB"]):
        r = verify(client, service_headers, f"T-9{n:05d}", postcode, chat=f"fresh{n}", client=CLIENT)
        assert r.status_code == 401
    blocked = verify(client, service_headers, res.tenancy_reference, res.postcode, chat="fresh9", client=CLIENT)
    assert blocked.status_code == 429 and blocked.json()["code"] == "too_many_attempts"
    assert 3500 <= int(blocked.headers["Retry-After"]) <= 3601
    # Another client is not held up by it.
    ok = verify(client, service_headers, res.tenancy_reference, res.postcode, chat="fresh10", client=OTHER_CLIENT)
    assert ok.status_code == 200, ok.text


def test_one_postcode_tried_with_many_references_from_many_clients_is_stopped(
    client: TestClient, factory: Factory, service_headers: dict[str, str], small: None, backend: str
) -> None:
    res = factory.resident(linked=False, postcode="NW5 2TX")
    neighbour = factory.resident(linked=False, postcode="NW5 2TY")
    # Typed loosely: the count is by the postcode written one way.
    for n, typed in enumerate(["NW5 2TX", "nw52tx", " Nw5  2tx", "NW52TX"]):
        r = verify(client, service_headers, f"T-8{n:05d}", typed, chat=f"spray{n}", client=f"{n}" * 43)
        assert r.status_code == 401
    # The estate's postcode waits, even with the right details from a new chat and client...
    blocked = verify(client, service_headers, res.tenancy_reference, res.postcode, chat="new", client="z" * 43)
    assert blocked.status_code == 429
    # ...and another postcode does not.
    ok = verify(client, service_headers, neighbour.tenancy_reference, neighbour.postcode, chat="n2", client="y" * 43)
    assert ok.status_code == 200, ok.text


def test_without_a_client_digest_the_chat_is_the_client(
    client: TestClient, factory: Factory, service_headers: dict[str, str], ctx: ServiceContext, backend: str
) -> None:
    """Telegram: a chat id is a client of its own. The per-client limit (10 an hour) then outlasts the
    per-chat one (5 in 15 minutes)."""
    res = factory.resident(linked=False)

    def guess(ref: str, postcode: str) -> int:
        return verify(client, service_headers, ref, postcode, chat="42", channel="telegram").status_code

    for n in range(5):
        assert guess(f"T-7{n:05d}", "E1 6AN") == 401
    with transaction(ctx.sessions) as s:  # the per-chat window has passed...
        s.execute(sa.update(VerificationAttempt).values(attempted_at=utcnow() - timedelta(minutes=16)))
    for n in range(5):
        assert guess(f"T-6{n:05d}", "N1 9GU") == 401
    with transaction(ctx.sessions) as s:
        s.execute(sa.update(VerificationAttempt).values(attempted_at=utcnow() - timedelta(minutes=16)))
    # ...but not the hour of the chat as a client.
    r = verify(client, service_headers, res.tenancy_reference, res.postcode, chat="42", channel="telegram")
    assert r.status_code == 429
    assert verify(client, service_headers, res.tenancy_reference, res.postcode, chat="43",
                  channel="telegram").status_code == 200


def test_a_successful_check_counts_for_nothing(
    client: TestClient, factory: Factory, service_headers: dict[str, str], ctx: ServiceContext, small: None,
    backend: str,
) -> None:
    res = factory.resident(linked=False)
    for n in range(6):
        r = verify(client, service_headers, res.tenancy_reference, res.postcode, chat=f"ok{n}", client=CLIENT)
        assert r.status_code == 200, r.text
    assert attempts(ctx) == []


def test_keys_are_keyed_hashes_of_the_values_never_the_values(
    client: TestClient, factory: Factory, service_headers: dict[str, str], ctx: ServiceContext, backend: str
) -> None:
    assert verify(client, service_headers, "T-123456", "E1 6AN", chat="77", client=CLIENT).status_code == 401
    keys = attempts(ctx)
    assert len(keys) == 4  # chat, reference, client, postcode
    plain = {hashlib.sha256(v.encode()).hexdigest() for v in
             ["T-123456", "ref:T-123456", "E1 6AN", "web:77", "chat:web:77", CLIENT]}
    assert not plain & set(keys)
    assert not any(v in k for k in keys for v in ("T-123456", "E1 6AN", CLIENT))
    # Another secret, other keys: the same guess is counted afresh (and the old rows reveal nothing).
    ctx.settings = ctx.settings.model_copy(update={"secret_key": SecretStr("another-secret-" + "q" * 20)})
    assert verify(client, service_headers, "T-123456", "E1 6AN", chat="77", client=CLIENT).status_code == 401
    assert len(set(attempts(ctx)) - set(keys)) == 4


def test_without_the_secret_the_check_is_unavailable_not_failed(
    client: TestClient, factory: Factory, service_headers: dict[str, str], ctx: ServiceContext, backend: str
) -> None:
    res = factory.resident(linked=False)
    ctx.settings = ctx.settings.model_copy(update={"secret_key": None})
    r = verify(client, service_headers, res.tenancy_reference, res.postcode, chat="1", client=CLIENT)
    assert r.status_code == 503 and r.json()["code"] == "not_set_up"


def test_a_malformed_client_digest_is_refused(client: TestClient, service_headers: dict[str, str]) -> None:
    r = verify(client, service_headers, "T-123456", "E1 6AN", chat="1", client="203.0.113.5")
    assert r.status_code == 422


def test_a_parallel_burst_across_two_replicas_gets_no_more_than_the_limit(
    factory: Factory, ctx: ServiceContext, service_headers: dict[str, str], small: None, backend: str
) -> None:
    burst = 8
    statuses: list[int] = []
    with serving(create_app(ctx)) as one, serving(create_app(ctx)) as two:
        barrier = threading.Barrier(burst)

        def guess(n: int) -> None:
            with httpx.Client(base_url=(one, two)[n % 2], timeout=30) as http:
                barrier.wait(timeout=10)
                statuses.append(verify(http, service_headers, f"T-5{n:05d}", "E1 6AN", chat=f"b{n}",
                                       client=CLIENT).status_code)

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(burst)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert sorted(statuses) == [401] * 3 + [429] * (burst - 3)
