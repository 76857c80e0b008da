"""The web chat's edge on its own (the bot's ASGI app in process, no browser): the cookie and what it is
signed with, CSRF and cross-site refusals, the message cap, the photo checks that happen before anything
is sent on, Rasa being down, and what can and cannot choose an intent. The whole conversation through
the real assistant, in a real browser, is in tests/test_webchat_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

import jinja2
import pytest
from starlette.testclient import TestClient

from bot.settings import BotSettings
from bot.web import build_web_app
from bot.webchat.routes import COOKIE, SECURE_COOKIE, page_template
from bot.webchat.signing import Signer, new_session_id
from bot.webchat.uploads import sniff
from evaluation.rasa_process import free_port

SECRET = "test-webchat-secret-" + "s" * 24
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "WEBCHAT_PUBLIC_URL", "WEBCHAT_SECRET_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEBCHAT_SECRET", SECRET)
    # Nothing listens here: Rasa and the repairs service are down.
    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("RASA_CHANNEL_SECRET", "c" * 64)
    monkeypatch.setenv("REPAIRS_API_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("REPAIRS_API_TOKEN", "t" * 32)
    monkeypatch.setenv("BOT_MAX_MESSAGE_CHARS", "200")
    monkeypatch.setenv("WEBCHAT_MAX_PHOTO_BYTES", str(64 * 1024))


@pytest.fixture
def client(env: None) -> Iterator[TestClient]:
    with TestClient(build_web_app(BotSettings())) as c:
        yield c


def open_page(client: TestClient) -> str:
    page = client.get("/")
    assert page.status_code == 200
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert token
    return token.group(1)


def post(client: TestClient, path: str, csrf: str | None, **kwargs):  # type: ignore[no-untyped-def]
    headers = {"Origin": "http://testserver", **kwargs.pop("headers", {})}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return client.post(path, headers=headers, **kwargs)


def test_the_page_sets_a_signed_http_only_lax_cookie_and_strict_headers(client):
    page = client.get("/")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie and "Max-Age=2592000" in cookie
    assert "Secure" not in cookie  # plain http (tests, the demo on loopback): a Secure cookie would never return
    value = cookie.split(";")[0].split("=", 1)[1]
    session_id = Signer(SECRET).session_from_cookie(value)
    assert session_id and len(session_id) >= 32
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "https://" not in page.text and "http://" not in page.text  # nothing loaded from elsewhere
    # The same session on the next visit, and a forged or unsigned cookie gets a new one.
    again = client.get("/")
    assert Signer(SECRET).session_from_cookie(again.cookies.get(COOKIE)) == session_id
    client.cookies.clear()
    client.cookies.set(COOKIE, f"{new_session_id()}.forged")
    fresh = client.get("/")
    assert Signer(SECRET).session_from_cookie(fresh.cookies.get(COOKIE)) not in (None, session_id)


def test_over_https_the_cookie_is_secure_and_host_only(env, monkeypatch):
    monkeypatch.setenv("WEBCHAT_PUBLIC_URL", "https://repairs.example.org")
    with TestClient(build_web_app(BotSettings()), base_url="https://repairs.example.org") as c:
        cookie = c.get("/").headers["set-cookie"]
    assert cookie.startswith(f"{SECURE_COOKIE}=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "Domain" not in cookie


def test_posts_need_the_session_the_csrf_token_and_this_site(client):
    csrf = open_page(client)
    body = {"json": {"text": "hello"}}
    assert post(client, "/webchat/api/message", None, **body).json()["error"] == "csrf"
    assert post(client, "/webchat/api/message", "not-the-token", **body).json()["error"] == "csrf"
    other_site = post(client, "/webchat/api/message", csrf, headers={"Origin": "https://evil.example"}, **body)
    assert (other_site.status_code, other_site.json()["error"]) == (403, "cross_site")
    cross = post(client, "/webchat/api/message", csrf, headers={"Sec-Fetch-Site": "cross-site"}, **body)
    assert cross.status_code == 403
    # Another session's token is no good either.
    other = TestClient(client.app)
    other_csrf = open_page(other)
    assert post(client, "/webchat/api/message", other_csrf, **body).status_code == 403
    # No cookie: the session has ended, and the page says what to do.
    client.cookies.clear()
    ended = post(client, "/webchat/api/message", csrf, **body)
    assert (ended.status_code, ended.json()["error"]) == (403, "no_session")
    assert "reload the page" in ended.json()["message"]
    for path in ("/webchat/api/photo", "/webchat/api/updates", "/webchat/api/updates/ack", "/webchat/api/forget"):
        assert post(client, path, csrf, content=b"{}").status_code == 403, path


def test_rasa_down_gives_a_clear_answer_and_the_message_is_not_taken(client):
    csrf = open_page(client)
    r = post(client, "/webchat/api/message", csrf, json={"text": "my tap is leaking"})
    assert r.status_code == 503
    assert r.json()["error"] == "assistant_unavailable"
    assert "still in the box" in r.json()["message"] and "0800 111 999" in r.json()["message"]


def test_long_empty_and_malformed_messages_are_refused_in_words(client):
    csrf = open_page(client)
    long = post(client, "/webchat/api/message", csrf, json={"text": "a" * 201})
    assert long.status_code == 422 and "200 characters" in long.json()["message"]
    assert post(client, "/webchat/api/message", csrf, json={"text": " / "}).json()["error"] == "empty"
    assert post(client, "/webchat/api/message", csrf, content=b"not json").status_code == 400
    assert post(client, "/webchat/api/message", csrf, content=b"{" + b" " * 20000 + b"}").status_code == 400


def test_only_buttons_offered_to_this_session_may_choose_an_intent(client):
    csrf = open_page(client)
    forged = post(client, "/webchat/api/message", csrf,
                  json={"button": {"payload": '/affirm{"report_confirmed": true}', "sig": "made-up"}})
    assert (forged.status_code, forged.json()["error"]) == (400, "button_expired")
    # A signature made for another session does not carry over.
    signed_elsewhere = Signer(SECRET).button(new_session_id(), "/greet")
    assert post(client, "/webchat/api/message", csrf,
                json={"button": {"payload": "/greet", "sig": signed_elsewhere}}).status_code == 400


def test_photos_are_checked_before_anything_is_sent_on(client):
    csrf = open_page(client)
    text_file = post(client, "/webchat/api/photo", csrf, content=b"just some words",
                     headers={"Content-Type": "text/plain"})
    assert (text_file.status_code, text_file.json()["error"]) == (415, "not_an_image")
    assert "not a photo" in text_file.json()["message"]
    # Saying it is an image is not enough: the bytes must be one.
    disguised = post(client, "/webchat/api/photo", csrf, content=b"MZ\x90\x00" + b"\x00" * 100,
                     headers={"Content-Type": "image/jpeg"})
    assert disguised.status_code == 415
    too_big = post(client, "/webchat/api/photo", csrf, content=PNG + b"\x00" * (64 * 1024),
                   headers={"Content-Type": "image/png"})
    assert (too_big.status_code, too_big.json()["error"]) == (413, "too_large")
    # A real image with the repairs service down: a clear answer, nothing half done.
    down = post(client, "/webchat/api/photo", csrf, content=PNG, headers={"Content-Type": "image/png"})
    assert down.status_code == 503 and "try again" in down.json()["message"]


def test_updates_with_the_service_down_lose_nothing_and_acks_must_be_this_sessions(client):
    csrf = open_page(client)
    r = post(client, "/webchat/api/updates", csrf, json={})
    assert r.status_code == 200 and r.json() == {"messages": [], "retry": True}
    forged = Signer(SECRET).ack(new_session_id(), 12, 1)
    assert post(client, "/webchat/api/updates/ack", csrf, json={"acks": [forged]}).json()["error"] == "bad_ack"
    assert post(client, "/webchat/api/updates/ack", csrf, json={"acks": ["12.1.x"]}).status_code == 400


def test_signing_keeps_each_purpose_apart():
    signer = Signer(SECRET)
    session = new_session_id()
    token = signer.csrf_token(session)
    assert signer.csrf_ok(session, token)
    assert not signer.button_ok(session, "", token)  # a CSRF token is not a button signature
    assert signer.session_from_cookie(f"{session}.{token}") is None  # nor a cookie signature
    ack = signer.ack(session, 7, 2)
    assert signer.ack_id(session, ack) == 7
    assert signer.ack_id(session, ack.replace("7.2.", "8.2.", 1)) is None
    assert signer.ack_id(session, ack.replace("7.2.", "7.3.", 1)) is None
    assert Signer("another-secret-" + "x" * 20).session_from_cookie(signer.cookie_value(session)) is None


def test_image_types_are_read_from_the_bytes():
    assert sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff(PNG) == "image/png"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"GIF89a....") == "image/gif"
    assert sniff(b"%PDF-1.7") is None and sniff(b"") is None


def test_switched_off_it_serves_nothing_and_makes_no_secret(env, monkeypatch, tmp_path):
    monkeypatch.setenv("WEBCHAT_ENABLED", "false")
    monkeypatch.delenv("WEBCHAT_SECRET")
    monkeypatch.setenv("WEBCHAT_SECRET_FILE", str(tmp_path / "webchat-secret"))
    with TestClient(build_web_app(BotSettings())) as c:
        assert c.get("/").status_code == 404
        assert c.post("/webchat/api/message", json={"text": "hi"}).status_code == 404
        assert c.get("/healthz").status_code == 200
    assert not (tmp_path / "webchat-secret").exists()


def test_without_a_configured_secret_one_is_made_once_and_kept_private(env, monkeypatch, tmp_path):
    monkeypatch.delenv("WEBCHAT_SECRET")
    path = tmp_path / "var" / "webchat-secret"
    monkeypatch.setenv("WEBCHAT_SECRET_FILE", str(path))
    with TestClient(build_web_app(BotSettings())) as first:
        cookie = first.get("/").cookies.get(COOKIE)
    assert path.stat().st_mode & 0o077 == 0
    with TestClient(build_web_app(BotSettings())) as restarted:  # a restart (or a replica) keeps sessions
        assert Signer(path.read_text().strip()).session_from_cookie(cookie)
        restarted.cookies.set(COOKIE, cookie)
        assert restarted.get("/").cookies.get(COOKIE) == cookie


PAGE_VALUES = {"csrf": "abc", "poll_seconds": 5, "max_chars": 500, "max_photo_bytes": 1000, "max_photo_mb": 1}


def test_the_page_template_escapes_what_it_is_given_and_refuses_a_missing_value() -> None:
    # The page's values are ours today; Jinja2 keeps one that ever is not from breaking out of its attribute.
    html = page_template().render({**PAGE_VALUES, "csrf": '"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in html
    assert 'content="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert 'maxlength="500"' in html and "{{" not in html
    with pytest.raises(jinja2.UndefinedError):
        page_template().render({k: v for k, v in PAGE_VALUES.items() if k != "max_chars"})
