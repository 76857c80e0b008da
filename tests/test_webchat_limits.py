"""The web chat's rate limits: the bot's ASGI app behind a real uvicorn server, over real HTTP, with its
buckets in this process (the default) and in the real Redis on 127.0.0.1:6379 (BOT_REDIS_URL; a key
prefix of the test's own). Rasa and the repairs service are down, so an allowed message gets 503 and a
refused one 429: the limit is checked before anything is sent on.

The page's own pace (a poll every WEBCHAT_POLL_SECONDS, its acknowledgements, a poll when the tab comes
back) is played against the default limits on a made-up clock, for an hour; the browser test
(tests/test_webchat_browser.py) checks that a real page polling every 2 seconds is never refused."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import redis

from bot import rasa_gateway
from bot.settings import BotSettings
from bot.web import build_web_app
from bot.webchat.limits import Bucket, MemoryLimiter, Rate, RedisLimiter
from bot.webchat.settings import WebChatSettings
from bot.webchat.signing import Signer
from bot.webchat.throttling import Kind, WebChatLimits
from evaluation.rasa_process import free_port
from tests.serving import serving

SECRET = "test-webchat-secret-" + "s" * 24
REDIS_URL = "redis://127.0.0.1:6379/0"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ADDRESSES = itertools.count(1)  # each visitor its own client (an IPv6 /64) unless a test says otherwise


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own in the real Redis; its keys are removed afterwards."""
    name = f"test-webchat-limits:{uuid.uuid4().hex}:"
    yield name
    with redis.Redis.from_url(REDIS_URL, socket_timeout=2) as r:
        keys = list(r.scan_iter(match=name + "*"))
        if keys:
            r.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, prefix: str) -> str:
    if request.param == "redis":
        try:
            with redis.Redis.from_url(REDIS_URL, socket_timeout=2) as r:
                r.ping()
        except redis.RedisError as exc:
            pytest.fail(f"the Redis variant needs Redis on 127.0.0.1:6379: {exc}")
    return str(request.param)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, store: str, prefix: str) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "WEBCHAT_PUBLIC_URL", "WEBCHAT_SECRET_FILE", "BOT_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEBCHAT_SECRET", SECRET)
    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens: Rasa is down
    # The gateway tries a dropped turn once more after a pause (a Rasa replica dying mid-turn); here nothing
    # listens at all, and a pause would let the bucket refill between the burst's messages.
    monkeypatch.setattr(rasa_gateway, "RETRY_PAUSE_SECONDS", 0.0)
    monkeypatch.setenv("RASA_CHANNEL_SECRET", "c" * 64)
    monkeypatch.setenv("REPAIRS_API_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("REPAIRS_API_TOKEN", "t" * 32)
    # Small limits, so a test reaches them quickly; a token a second, so waiting for one is quick too.
    for name, value in {"MESSAGES_PER_MINUTE": "60", "MESSAGE_BURST": "3", "PHOTOS_PER_MINUTE": "60",
                        "PHOTO_BURST": "2", "POLLS_PER_MINUTE": "60", "POLL_BURST": "4",
                        "CLIENT_PER_MINUTE": "60", "CLIENT_BURST": "5", "POLL_SECONDS": "20"}.items():
        monkeypatch.setenv(f"WEBCHAT_{name}", value)
    if store == "redis":
        monkeypatch.setenv("BOT_REDIS_URL", REDIS_URL)
        monkeypatch.setenv("WEBCHAT_RATE_LIMIT_PREFIX", prefix)


def serve(settings: BotSettings) -> Iterator[str]:
    """The bot's app behind uvicorn on a free port. X-Forwarded-For is trusted from loopback only, as
    uvicorn does by default, so a test can speak for several client addresses."""
    with serving(build_web_app(settings), forwarded_allow_ips="127.0.0.1") as url:
        yield url


@pytest.fixture
def url(env: None) -> Iterator[str]:
    yield from serve(BotSettings())


@dataclass
class Visitor:
    """One browser: its own cookie (session) and CSRF token, from the address it says it comes from."""

    client: httpx.Client
    csrf: str
    address: str

    @classmethod
    def opens(cls, url: str, address: str | None = None) -> Visitor:
        client = httpx.Client(base_url=url, timeout=10)
        page = client.get("/")
        assert page.status_code == 200
        token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
        assert token
        return cls(client, token.group(1), address or f"2001:db8:{next(ADDRESSES):x}::1")

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Origin": str(self.client.base_url).rstrip("/"), "X-CSRF-Token": self.csrf,
                   "X-Forwarded-For": self.address}
        return self.client.post(path, headers=headers, **kwargs)  # type: ignore[arg-type]

    def says(self, text: str = "my tap is leaking") -> httpx.Response:
        return self.post("/webchat/api/message", json={"text": text})

    def sends_photo(self, body: bytes = b"not a photo") -> httpx.Response:
        return self.post("/webchat/api/photo", content=body)

    def polls(self) -> httpx.Response:
        return self.post("/webchat/api/updates", json={})


def assert_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "rate_limited"
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    assert response.json()["retry_after"] == int(retry_after)
    assert response.headers["cache-control"] == "no-store"
    return int(retry_after)


# -- over HTTP, with each store --------------------------------------------------------------------------


def test_messages_over_the_session_limit_get_429_with_retry_after_then_pass_again(url: str) -> None:
    resident = Visitor.opens(url)
    for _ in range(3):  # the burst: each is let through (and finds the assistant down)
        assert resident.says().status_code == 503
    refused = resident.says()
    wait = assert_limited(refused)
    assert wait == 1  # a token a second
    words = refused.json()["message"]
    assert "Please wait 1 second," in words and "still in the box" in words
    assert "0800 111 999" in words  # the safety numbers, even when we will not pass a message on
    assert_limited(resident.says())  # a refused request takes nothing, and gives nothing back either
    time.sleep(wait)
    assert resident.says().status_code == 503  # after Retry-After, let through again


def test_other_sessions_and_other_kinds_of_request_are_unaffected(url: str) -> None:
    hasty, other = Visitor.opens(url), Visitor.opens(url)
    for _ in range(3):
        hasty.says()
    assert_limited(hasty.says())
    assert other.says().status_code == 503
    # The same session can still get its updates and add a photo: each kind has its own bucket.
    assert hasty.polls().status_code == 200
    assert hasty.sends_photo().status_code == 415


def test_photos_are_limited_before_the_upload_is_read(url: str) -> None:
    resident = Visitor.opens(url)
    assert [resident.sends_photo().status_code for _ in range(2)] == [415, 415]
    refused = resident.sends_photo(PNG + b"\x00" * 4096)
    assert_limited(refused)
    assert refused.json()["message"].startswith("That's a lot of photos at once. Please wait 1 second,")


def test_update_polls_have_a_limit_of_their_own_and_acknowledgements_count_with_them(url: str) -> None:
    page = Visitor.opens(url)
    assert [page.polls().status_code for _ in range(3)] == [200, 200, 200]
    assert page.post("/webchat/api/updates/ack", json={"acks": []}).status_code == 204
    assert_limited(page.polls())
    assert page.says().status_code == 503


def test_one_client_cannot_go_round_the_limit_with_new_sessions(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    address = "203.0.113.7"
    for _ in range(5):  # the address's burst, each message from a fresh session
        assert Visitor.opens(url, address).says().status_code == 503
    newcomer = Visitor.opens(url, address)
    assert_limited(newcomer.says())
    assert_limited(newcomer.sends_photo())
    # Its polls are not counted per address; another address is not held back.
    assert newcomer.polls().status_code == 200
    assert Visitor.opens(url, "203.0.113.8").says().status_code == 503
    # The refusals are logged by which limit, never by whose: no address, no session id.
    limited = [r for r in caplog.records if r.getMessage() == "web chat request limited"]
    assert {(getattr(r, "kind", None), getattr(r, "limit", None)) for r in limited} == {
        ("message", "client"), ("photo", "client")}
    session_id = newcomer.client.cookies["repairs_chat"].rsplit(".", 1)[0]
    assert not any(address in str(r.__dict__) or session_id in str(r.__dict__) for r in caplog.records)


def test_forgetting_counts_as_a_message(url: str) -> None:
    resident = Visitor.opens(url)
    for _ in range(3):
        resident.says()
    assert_limited(resident.post("/webchat/api/forget", json={}))


# -- Redis -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["redis"], indirect=True)
def test_redis_holds_hashed_names_that_expire_once_refilled(url: str, prefix: str) -> None:
    address = "192.0.2.44"
    resident = Visitor.opens(url, address)
    resident.says()
    with redis.Redis.from_url(REDIS_URL, socket_timeout=2, decode_responses=True) as r:
        keys = sorted(r.scan_iter(match=prefix + "*"))
        assert len(keys) == 2  # the session's message bucket and the address's
        session_id = resident.client.cookies["repairs_chat"].rsplit(".", 1)[0]
        assert not any(session_id in key or address in key for key in keys)
        for key in keys:
            # Full again after (burst - tokens left) seconds at a token a second: it expires soon after.
            assert 0 < r.pttl(key) <= 6000
            assert float(r.hget(key, "tokens") or "nan") < 5


@pytest.mark.parametrize("store", ["redis"], indirect=True)
def test_replicas_sharing_redis_share_the_buckets(store: str, prefix: str) -> None:
    rate = Rate(per_minute=6, burst=2)
    bucket = [Bucket("session", "session-message:shared", rate)]

    async def run() -> list[bool]:
        replicas = [RedisLimiter(REDIS_URL, prefix), RedisLimiter(REDIS_URL, prefix)]
        try:
            # Eight requests at once, spread over two replicas: exactly the burst is let through.
            verdicts = await asyncio.gather(*(replicas[i % 2].take(bucket) for i in range(8)))
        finally:
            for replica in replicas:
                await replica.aclose()
        return [v.allowed for v in verdicts]

    assert sorted(asyncio.run(run())) == [False] * 6 + [True] * 2


def test_in_memory_each_replica_limits_on_its_own() -> None:
    """Why BOT_REDIS_URL matters with more than one replica (documented in bot/webchat/limits.py)."""
    rate = Rate(per_minute=6, burst=2)
    bucket = [Bucket("session", "session-message:shared", rate)]

    async def run() -> int:
        replicas = [MemoryLimiter(), MemoryLimiter()]
        return sum([(await replicas[i % 2].take(bucket)).allowed for i in range(8)])

    assert asyncio.run(run()) == 4


@pytest.mark.parametrize("store", ["redis"], indirect=True)
def test_with_redis_down_requests_are_limited_in_the_process_and_not_delayed(
    env: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("BOT_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    address = "198.51.100.23"
    with caplog.at_level(logging.WARNING):
        for url in serve(BotSettings()):
            resident = Visitor.opens(url, address)
            started = time.monotonic()
            statuses = [resident.says().status_code for _ in range(5)]
            # The burst of 3 let through (to a Rasa that is down: 503), then limited as with Redis up.
            assert statuses[:3] == [503] * 3
            assert_limited(resident.says())
            assert time.monotonic() - started < 6
            # A client address's bucket too: fresh sessions from the address share its 5 (refilling at one
            # a second), so some of five newcomers wait.
            newcomers = [Visitor.opens(url, address) for _ in range(5)]
            assert 429 in [v.says().status_code for v in newcomers]
    outage = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(outage) == 1  # logged once a minute at most, not for every request
    assert address not in caplog.text


def test_the_repairs_service_sees_a_keyed_digest_of_the_client_not_its_address() -> None:
    signer, other = Signer(SECRET), Signer("another secret, 32 characters..")
    digest = signer.client_digest("203.0.113.9")
    assert "203.0.113.9" not in digest and re.fullmatch(r"[A-Za-z0-9_-]{43}", digest)
    assert digest != other.client_digest("203.0.113.9") != signer.client_digest("203.0.113.10")
    # One IPv6 client holds a /64: a fresh address in it is the same client.
    assert signer.client_digest("2001:db8:5:6::1") == signer.client_digest("2001:db8:5:6:ffff::2")
    assert signer.client_digest("::ffff:203.0.113.9") == digest


# -- the page's own pace, and memory -----------------------------------------------------------------------


@pytest.mark.parametrize(("poll_seconds", "tabs"), [(2, 1), (20, 5)])
def test_the_pages_polling_is_never_limited_with_the_default_limits(poll_seconds: int, tabs: int) -> None:
    """An hour of a page's worst case: each poll acknowledges what the last showed and what it shows, and
    every fourth the tab comes back into view and polls at once. At the fastest poll the settings allow,
    one page; at the default pace, five windows open on the one session."""
    clock = [0.0]
    web = WebChatSettings(_env_file=None, WEBCHAT_POLL_SECONDS=poll_seconds)  # type: ignore[call-arg]
    limits = WebChatLimits(MemoryLimiter(clock=lambda: clock[0]), Signer(SECRET),
                           WebChatLimits.from_settings(web, Signer(SECRET)).per_session, None)

    async def hour(tabs: int, pace: float, seconds: int = 3600) -> int:
        refused = 0
        for tick in range(int(seconds / (poll_seconds * pace))):
            clock[0] = tick * poll_seconds * pace
            for _ in range(tabs):
                requests = 3 + (3 if tick % 4 == 0 else 0)
                for _ in range(requests):
                    refused += not (await limits.take(Kind.UPDATES, "session", "client")).allowed
        return refused

    assert asyncio.run(hour(tabs=tabs, pace=1.0)) == 0
    # A control: the same check notices a page polling several times as fast as it should.
    clock[0] = 0.0
    assert asyncio.run(hour(tabs=tabs * 4, pace=0.25, seconds=300)) > 0


def test_idle_buckets_are_forgotten_so_memory_stays_bounded() -> None:
    clock = [0.0]
    limiter = MemoryLimiter(clock=lambda: clock[0])
    rate = Rate(per_minute=20, burst=10)

    async def run() -> None:
        for n in range(1000):
            assert (await limiter.take([Bucket("session", f"s{n}", rate)])).allowed
        assert len(limiter) == 1000
        clock[0] = 3.1  # one token back each 3 s: every bucket above is full again
        await limiter.take([Bucket("session", "later", rate)])
        assert len(limiter) == 1

    asyncio.run(run())
    capped = MemoryLimiter(max_buckets=50)

    async def flood() -> None:
        for n in range(500):
            await capped.take([Bucket("client", f"c{n}", rate)])

    asyncio.run(flood())
    assert len(capped) == 50


def test_the_poll_limit_must_leave_room_for_the_pages_own_polls() -> None:
    with pytest.raises(ValueError, match="WEBCHAT_POLLS_PER_MINUTE must be at least 120"):
        WebChatSettings(_env_file=None, WEBCHAT_POLL_SECONDS=2, WEBCHAT_POLLS_PER_MINUTE=119)  # type: ignore[call-arg]
    assert WebChatSettings(_env_file=None, WEBCHAT_POLL_SECONDS=2).polls_per_minute == 120  # type: ignore[call-arg]
