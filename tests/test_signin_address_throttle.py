"""Failed officer sign-ins are throttled per client address across every account (password spraying), in
the database so it holds across replicas, on the workspace form and the API alike; successful sign-ins do
not count. The address is the server's idea of the client: X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from repairs.app import create_app
from repairs.auth.address_throttle import address_key
from repairs.auth.models import Officer, SignInFailure
from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.settings import Settings
from tests.factories import Factory
from tests.serving import serving
from tests.workspace_client import sign_in

WRONG = "not the password at all"
PAUSED = "Too many sign-ins from your network have failed recently"


@pytest.fixture
def limit(ctx: ServiceContext) -> int:
    ctx.settings = ctx.settings.model_copy(update={"signin_address_max_failures": 3})
    return 3


def api_sign_in(http: httpx.Client | TestClient, email: str, password: str,
                address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    return http.post("/api/v1/auth/token", json={"email": email, "password": password}, headers=headers)


def failures(ctx: ServiceContext) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(SignInFailure)) or 0


@contextmanager
def replica(ctx: ServiceContext, *, trusted_proxies: str) -> Iterator[str]:
    """One more replica of the service on the same database, behind uvicorn with its proxy settings."""
    with serving(create_app(ctx), proxy_headers=True, forwarded_allow_ips=trusted_proxies) as url:
        yield url


def test_one_address_trying_many_accounts_is_paused_in_the_workspace(
    client: TestClient, factory: Factory, ctx: ServiceContext, limit: int, backend: str
) -> None:
    officers = [factory.officer() for _ in range(limit + 1)]
    for officer in officers[:limit]:
        assert sign_in(client, officer.email, WRONG).status_code == 401
    # Even the right password of an account never tried: the address is paused, not the account.
    paused = sign_in(client, officers[limit].email, officers[limit].password)
    assert paused.status_code == 429
    assert PAUSED in paused.text and "Try again after" in paused.text
    assert 800 <= int(paused.headers["retry-after"]) <= 900
    assert "officer_session" not in client.cookies
    with transaction(ctx.sessions) as s:
        # No account was locked: each had one wrong password.
        assert s.scalar(sa.select(sa.func.count()).select_from(Officer).where(Officer.locked_until.is_not(None))) == 0
        assert s.scalar(sa.select(sa.func.max(Officer.failed_logins))) == 1
    # Refused before any password is checked: the refusals add nothing.
    assert failures(ctx) == limit


def test_successful_sign_ins_do_not_count(
    client: TestClient, factory: Factory, ctx: ServiceContext, limit: int, backend: str
) -> None:
    officer = factory.officer()
    for _ in range(limit - 1):
        assert sign_in(client, officer.email, WRONG).status_code == 401
    for _ in range(4):
        client.cookies.clear()
        assert sign_in(client, officer.email, officer.password).status_code == 303
        assert api_sign_in(client, officer.email, officer.password).status_code == 200
    client.cookies.clear()
    assert sign_in(client, "nobody@council.invalid", WRONG).status_code == 401  # the last one allowed
    assert sign_in(client, officer.email, officer.password).status_code == 429
    assert failures(ctx) == limit


def test_the_api_and_the_workspace_share_the_count(
    client: TestClient, factory: Factory, ctx: ServiceContext, limit: int, backend: str
) -> None:
    officer = factory.officer()
    assert sign_in(client, "a@council.invalid", WRONG).status_code == 401
    assert api_sign_in(client, "b@council.invalid", WRONG).status_code == 401
    assert api_sign_in(client, "c@council.invalid", WRONG).status_code == 401
    r = api_sign_in(client, officer.email, officer.password)
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "too_many_failures_from_address"
    assert 800 <= int(r.headers["retry-after"]) <= 900
    assert sign_in(client, officer.email, officer.password).status_code == 429


def test_the_pause_ends_with_the_window(
    client: TestClient, factory: Factory, ctx: ServiceContext, limit: int, backend: str
) -> None:
    officer = factory.officer()
    for _ in range(limit):
        assert api_sign_in(client, "nobody@council.invalid", WRONG).status_code == 401
    assert api_sign_in(client, officer.email, officer.password).status_code == 429
    with transaction(ctx.sessions) as s:
        s.execute(sa.update(SignInFailure).values(attempted_at=utcnow() - timedelta(minutes=16)))
    assert api_sign_in(client, officer.email, officer.password).status_code == 200


def test_each_client_address_has_its_own_count_behind_a_trusted_proxy(
    factory: Factory, ctx: ServiceContext, limit: int, backend: str
) -> None:
    officer = factory.officer()
    with replica(ctx, trusted_proxies="127.0.0.1") as url, httpx.Client(base_url=url, timeout=20) as http:
        for n in range(limit):
            assert api_sign_in(http, f"x{n}@council.invalid", WRONG, "203.0.113.5").status_code == 401
        assert api_sign_in(http, officer.email, officer.password, "203.0.113.5").status_code == 429
        assert api_sign_in(http, officer.email, officer.password, "203.0.113.6").status_code == 200
        # An IPv6 client is counted by its /64: a fresh address per guess gains nothing.
        for n in range(limit):
            assert api_sign_in(http, "y@council.invalid", WRONG, f"2001:db8:1:2::{n + 1:x}").status_code == 401
        assert api_sign_in(http, officer.email, officer.password, "2001:db8:1:2::ffff").status_code == 429
        assert api_sign_in(http, officer.email, officer.password, "2001:db8:1:3::1").status_code == 200


def test_x_forwarded_for_from_an_untrusted_connection_is_ignored(
    factory: Factory, ctx: ServiceContext, limit: int, backend: str
) -> None:
    officer = factory.officer()
    with replica(ctx, trusted_proxies="192.0.2.1") as url, httpx.Client(base_url=url, timeout=20) as http:
        for n in range(limit):
            assert api_sign_in(http, "z@council.invalid", WRONG, f"198.51.100.{n + 1}").status_code == 401
        # A new made-up address does not reset anything: the connection's own address was counted.
        assert api_sign_in(http, officer.email, officer.password, "198.51.100.200").status_code == 429


def test_a_parallel_burst_across_two_replicas_gets_no_more_than_the_limit(
    factory: Factory, ctx: ServiceContext, limit: int, backend: str
) -> None:
    burst = 10
    with replica(ctx, trusted_proxies="127.0.0.1") as one, replica(ctx, trusted_proxies="127.0.0.1") as two:
        barrier = threading.Barrier(burst)
        statuses: list[int] = []

        def guess(n: int) -> None:
            with httpx.Client(base_url=(one, two)[n % 2], timeout=30) as http:
                barrier.wait(timeout=10)
                statuses.append(api_sign_in(http, f"spray{n}@council.invalid", WRONG, "203.0.113.9").status_code)

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(burst)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert sorted(statuses) == [401] * limit + [429] * (burst - limit)
    assert failures(ctx) == limit


def test_addresses_are_keyed_without_being_stored() -> None:
    def key(host: str | None, secret: bytes = b"one secret") -> str:
        return address_key(host, secret)

    assert key("203.0.113.5") != key("203.0.113.6")
    assert key("2001:db8::1") == key("2001:db8::ffff:1") == key("2001:0db8:0:0::2")
    assert key("2001:db8::1") != key("2001:db8:0:1::1")
    assert key("::ffff:203.0.113.5") == key("203.0.113.5")
    assert key(None) == key("")
    assert "203.0.113.5" not in key("203.0.113.5") and len(key("testclient")) == 64
    # Keyed: without the secret, hashing every IPv4 address finds nothing; another secret, other keys.
    assert key("203.0.113.5") != hashlib.sha256(b"sign-in:203.0.113.5").hexdigest()
    assert key("203.0.113.5") != key("203.0.113.5", b"another secret")


def test_the_settings_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPAIRS_SIGNIN_ADDRESS_MAX_FAILURES", "50")
    monkeypatch.setenv("REPAIRS_SIGNIN_ADDRESS_WINDOW_MINUTES", "30")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.signin_address_max_failures, settings.signin_address_window_minutes) == (50, 30)
    for name in ("REPAIRS_SIGNIN_ADDRESS_MAX_FAILURES", "REPAIRS_SIGNIN_ADDRESS_WINDOW_MINUTES"):
        monkeypatch.setenv(name, "0")
        with pytest.raises(ValueError, match=name):
            Settings(_env_file=None)  # type: ignore[call-arg]
        monkeypatch.delenv(name)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.signin_address_max_failures, defaults.signin_address_window_minutes) == (20, 15)

