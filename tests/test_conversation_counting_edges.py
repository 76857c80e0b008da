"""Conversations are counted as residents talk through the real edges, once per conversation, on SQLite and
PostgreSQL: the Telegram bot (`python -m bot`, python-telegram-bot's real client, against the Telegram
stand-in) counts with the update claim it makes anyway; web chat (the bot's ASGI app) posts once a turn,
and a repairs service that is down or hung never stops the turn. The repairs service is the real one on a
real port; Rasa is a stand-in that answers every message (tests/rasa_standin.py), since what the assistant
understands is not what is counted here."""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot.settings import BotSettings
from bot.web import build_web_app
from bot.webchat.signing import Signer
from evaluation.rasa_process import free_port
from repairs.channels import state
from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from repairs.usage.conversations import NAME
from repairs.usage.models import AssistantUsage, UsageEvent
from tests.assistant_stack import Stack
from tests.bot_process import running_bot
from tests.conftest import SERVICE_TOKEN, LiveServer
from tests.rasa_standin import RasaStandIn
from tests.telegram_standin import TelegramStandIn

SECRET = "test-webchat-secret-" + "c" * 24


def conversations(ctx: ServiceContext, channel: str) -> int:
    with transaction(ctx.sessions) as s:
        return int(s.scalar(select(func.coalesce(func.sum(AssistantUsage.count), 0)).where(
            AssistantUsage.event == UsageEvent.CONVERSATION.value, AssistantUsage.channel == channel)) or 0)


@pytest.fixture
def rasa() -> Iterator[RasaStandIn]:
    with RasaStandIn() as standin:
        yield standin


# -- Telegram -----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_telegram_counts_one_conversation_for_a_chats_several_turns(live_server: LiveServer, ctx: ServiceContext,
                                                                    rasa: RasaStandIn, tmp_path: Path,
                                                                    backend: str) -> None:
    stack = Stack(rasa_url=rasa.url, repairs_url=live_server.url, repairs_token=SERVICE_TOKEN,
                  database_url=str(ctx.settings.database_url), channel_secret=rasa.secret)
    resident, other, group = 8620001, 8620002, -1008620003
    with TelegramStandIn() as tg, running_bot(tg, stack, tmp_path / "bot.log", mode="webhook") as bot:

        def turn(action, chat: int = resident, fragment: str = "You said") -> int:  # type: ignore[no-untyped-def]
            before = len(tg.sent(chat))
            update_id = action()
            tg.wait_for(chat, lambda m: fragment in m.body, after=before, timeout=30)
            return int(update_id)

        # A command, typed words, a tap on the assistant's button, more words: one conversation.
        turn(lambda: tg.user_text(resident, "/start"))
        assert rasa.messages_from(f"telegram:{resident}") == ["/greet"]
        repeated = turn(lambda: tg.user_text(resident, "my kitchen tap is dripping"))
        turn(lambda: tg.tap(resident, "Yes"))
        turn(lambda: tg.user_text(resident, "and the sink is blocked"))
        assert rasa.messages_from(f"telegram:{resident}") == ["/greet", "my kitchen tap is dripping", "/affirm",
                                                              "and the sink is blocked"]
        assert conversations(ctx, "telegram") == 1
        # Telegram sends an update again: handled once, counted once.
        tg.duplicate(repeated)
        deadline = time.monotonic() + 10
        while tg.pending_updates() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert len(rasa.messages_from(f"telegram:{resident}")) == 4
        # Another resident: another conversation. The officers' group (the bot refuses residents' business
        # there) is no resident's conversation.
        turn(lambda: tg.user_text(other, "hello"), chat=other)
        tg.open_chat(group, chat_type="supergroup")
        turn(lambda: tg.user_text(group, "/status", from_id=8620004), chat=group, fragment="only chat privately")
        assert conversations(ctx, "telegram") == 2
        log = bot.log()
    with transaction(ctx.sessions) as s:
        kept = state.get(s, "telegram", str(resident), NAME)
        soon_after = state.get(s, "telegram", str(resident), NAME, now=utcnow() + timedelta(minutes=55))
        gone = state.get(s, "telegram", str(resident), NAME, now=utcnow() + timedelta(minutes=61))
        assert state.get(s, "telegram", str(group), NAME) is None
    assert kept is not None and soon_after is not None and gone is None, "expires an idle hour after the last"
    assert "dripping" not in log and str(resident) not in log


# -- web chat -----------------------------------------------------------------------------------------------


@pytest.fixture
def webchat_env(monkeypatch: pytest.MonkeyPatch, rasa: RasaStandIn, live_server: LiveServer) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "WEBCHAT_PUBLIC_URL", "WEBCHAT_SECRET_FILE", "BOT_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEBCHAT_SECRET", SECRET)
    monkeypatch.setenv("RASA_URL", rasa.url)
    monkeypatch.setenv("RASA_CHANNEL_SECRET", rasa.secret)
    monkeypatch.setenv("REPAIRS_API_URL", live_server.url)
    monkeypatch.setenv("REPAIRS_API_TOKEN", SERVICE_TOKEN)
    monkeypatch.setenv("BOT_DELIVERY_ENABLED", "false")


def open_page(client: TestClient) -> tuple[str, str]:
    """The page's CSRF token and the browser's session id."""
    page = client.get("/")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert page.status_code == 200 and token
    session_id = Signer(SECRET).session_from_cookie(next(iter(client.cookies.values())))
    assert session_id
    return token.group(1), session_id


def say(client: TestClient, csrf: str, **body: object) -> dict:  # type: ignore[type-arg]
    r = client.post("/webchat/api/message", headers={"Origin": "http://testserver", "X-CSRF-Token": csrf},
                    json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_web_chat_counts_one_conversation_for_a_browsers_several_turns(webchat_env: None, ctx: ServiceContext,
                                                                       rasa: RasaStandIn, backend: str) -> None:
    app = build_web_app(BotSettings())
    with TestClient(app) as browser:
        csrf, session_id = open_page(browser)
        first = say(browser, csrf, text="my kitchen tap is dripping")
        button = first["messages"][0]["buttons"][0]
        say(browser, csrf, button={"payload": button["payload"], "sig": button["sig"]})
        say(browser, csrf, text="and the sink is blocked")
        assert rasa.messages_from(f"web:{session_id}") == ["my kitchen tap is dripping", "/affirm",
                                                            "and the sink is blocked"]
        assert conversations(ctx, "web") == 1
        browser.cookies.clear()  # another browser: a new session
        other_csrf, other_session = open_page(browser)
        say(browser, other_csrf, text="hello")
        say(browser, other_csrf, text="is anyone there")
        assert other_session != session_id and len(rasa.messages_from(f"web:{other_session}")) == 2
        assert conversations(ctx, "web") == 2
    with transaction(ctx.sessions) as s:
        assert state.get(s, "web", session_id, NAME) is not None


@pytest.mark.parametrize("repairs", ["down", "hung"])
def test_web_chat_turns_go_on_when_the_conversation_cannot_be_counted(
        webchat_env: None, monkeypatch: pytest.MonkeyPatch, rasa: RasaStandIn, caplog: pytest.LogCaptureFixture,
        ctx: ServiceContext, repairs: str, backend: str) -> None:
    """Only a count: a repairs service that refuses connections, or accepts and never answers, costs the
    turn at most the count's short timeout, and the resident gets the assistant's answer."""
    with socket.socket() as hung:
        if repairs == "hung":
            hung.bind(("127.0.0.1", 0))
            hung.listen(8)  # connections queue, nobody answers
            port = hung.getsockname()[1]
        else:
            port = free_port()  # nothing listens
        monkeypatch.setenv("REPAIRS_API_URL", f"http://127.0.0.1:{port}")
        caplog.set_level(logging.INFO, logger="bot.webchat.routes")
        with TestClient(build_web_app(BotSettings())) as browser:
            csrf, session_id = open_page(browser)
            started = time.monotonic()
            answer = say(browser, csrf, text="my kitchen tap is dripping")
            took = time.monotonic() - started
    assert answer["messages"][0]["text"] == "You said: my kitchen tap is dripping"
    assert rasa.messages_from(f"web:{session_id}") == ["my kitchen tap is dripping"]
    assert took < 5, f"the turn waited {took:.1f} s on a count"
    warnings = [r.getMessage() for r in caplog.records if "conversation not counted" in r.getMessage()]
    assert len(warnings) == 1
    assert session_id not in caplog.text and "dripping" not in caplog.text
    assert conversations(ctx, "web") == 0
