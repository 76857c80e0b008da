"""The Telegram edge's own rules, without the assistant: text made safe, replies split and keyed, updates
ordered per chat and de-duplicated, settings checked."""

from __future__ import annotations

import asyncio
import random

import pytest
from pydantic import ValidationError
from telegram import Chat, Message, Update, User

from bot.photo_intake import current_ticket
from bot.rasa_gateway import Button, parse_replies
from bot.repairs_client import TicketSummary
from bot.settings import BotSettings
from bot.telegram.inbound import as_plain_text
from bot.telegram.ordering import ChatOrderedProcessor
from bot.telegram.rendering import MAX_CALLBACK_BYTES, keyboard, split_text, utf16_len


@pytest.mark.parametrize(("typed", "sent"), [
    ("/affirm", "affirm"),
    ('/inform{"report_confirmed": true}', 'inform{"report_confirmed": true}'),
    ("  / /greet", "greet"),
    ("\u3000/greet", "greet"),  # ideographic space: Python's strip (and so Rasa's) removes it
    ("//", ""),
    ("my tap is leaking / dripping", "my tap is leaking / dripping"),
])
def test_typed_text_never_reaches_rasa_as_an_intent(typed: str, sent: str) -> None:
    cleaned = as_plain_text(typed)
    assert cleaned == sent
    assert not cleaned.strip().startswith("/"), "Rasa reads a leading '/' (after strip) as an intent"


def test_long_replies_split_at_telegrams_limit_on_word_boundaries() -> None:
    words = " ".join(f"word{i}" for i in range(2000))
    parts = split_text(words)
    assert len(parts) >= 3 and all(utf16_len(p) <= 4096 for p in parts)
    assert " ".join(parts) == words, "nothing lost, nothing cut mid-word"
    emoji = "🔧" * 3000  # two UTF-16 units each
    assert [utf16_len(p) for p in split_text(emoji)] == [4096, 1904]
    paragraphs = "a" * 3000 + "\n\n" + "b" * 3000
    assert split_text(paragraphs) == ["a" * 3000, "b" * 3000]
    assert split_text("short") == ["short"]


def test_buttons_fit_telegrams_callback_limit_and_short_choices_share_a_row() -> None:
    """(Long payloads kept by digest in the chat's shared state: tests/test_chat_state.py.)"""
    markup = asyncio.run(keyboard([Button("Yes", "/affirm"), Button("No", "/deny")], 1))
    assert markup is not None
    assert [b.callback_data for row in markup.inline_keyboard for b in row] == ["r|/affirm", "r|/deny"]
    ratings = asyncio.run(keyboard([Button(str(n), f"/rate_repair{{\"score\": {n}}}") for n in range(1, 6)], 1))
    assert ratings is not None and len(ratings.inline_keyboard) == 1, "short choices share a row"
    assert all(len(str(b.callback_data).encode()) <= MAX_CALLBACK_BYTES for b in ratings.inline_keyboard[0])
    with pytest.raises(ValueError, match="too long"):
        asyncio.run(keyboard([Button("Rate", "/rate_repair" + "x" * 80)], 1))


def test_rasa_replies_parse_defensively() -> None:
    replies = parse_replies([{"recipient_id": "x", "text": "Hi", "buttons": [{"title": "Yes", "payload": "/affirm"},
                                                                          {"title": "broken"}]},
                             {"image": "https://example.org/a.png"}, "junk", {"text": ""}])
    assert [(r.text, [b.payload for b in r.buttons], r.image) for r in replies] == [
        ("Hi", ["/affirm"], None), ("", [], "https://example.org/a.png")]
    assert parse_replies({"not": "a list"}) == []


def test_the_current_repair_is_the_only_one_or_one_just_reported() -> None:
    old = TicketSummary("HR-AAAAAA", "tap", "Open", "2020-01-01T10:00:00+00:00")
    assert current_ticket([old]) == old
    assert current_ticket([]) is None
    older = TicketSummary("HR-BBBBBB", "door", "Open", "2019-01-01T10:00:00Z")
    assert current_ticket([old, older]) is None, "two old repairs: the resident chooses"
    from datetime import UTC, datetime

    fresh = TicketSummary("HR-CCCCCC", "leak", "Open", datetime.now(UTC).isoformat())
    assert current_ticket([fresh, old]) == fresh


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "private")
    message = Message(update_id, date=None, chat=chat, from_user=User(chat_id, "R", False), text="x")  # type: ignore[arg-type]
    return Update(update_id, message=message)


def test_one_chats_updates_run_in_order_while_chats_run_concurrently() -> None:
    seen: list[tuple[int, int]] = []
    concurrent = 0
    most = 0

    async def first(update: Update) -> bool:
        await asyncio.sleep(random.random() / 200)  # the repairs round trip, of varying length
        return update.update_id != 13  # 13 is a repeat

    async def handle(update: Update) -> None:
        nonlocal concurrent, most
        concurrent += 1
        most = max(most, concurrent)
        await asyncio.sleep(random.random() / 100)
        assert update.effective_chat is not None
        seen.append((update.effective_chat.id, update.update_id))
        concurrent -= 1

    async def run() -> ChatOrderedProcessor:
        processor = ChatOrderedProcessor(64, first)
        updates = [_update(i, chat_id=i % 4) for i in range(1, 81)]
        # The way python-telegram-bot starts them: one task each, in arrival order.
        await asyncio.gather(*(processor.process_update(u, handle(u)) for u in updates))
        return processor

    processor = asyncio.run(run())
    for chat in range(4):
        ids = [u for c, u in seen if c == chat]
        assert ids == sorted(ids) and len(ids) == 20 - (chat == 1)
    assert 13 not in [u for _, u in seen], "a repeated update is not handled"
    assert 1 < most <= 4, "different chats overlap; a chat never overlaps itself"
    assert processor._locks == {} and processor._waiting == {}, "no per-chat state left behind"


def test_webhook_mode_needs_a_url_and_a_strong_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith(("TELEGRAM_", "BOT_", "RASA_", "REPAIRS_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env file
    base = {"TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_MODE": "webhook",
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/webhook", "RASA_CHANNEL_SECRET": "c" * 64}
    for key, value in base.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match="TELEGRAM_WEBHOOK_SECRET"):
        BotSettings()
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "short")
    with pytest.raises(ValidationError):
        BotSettings()
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "a" * 32)
    settings = BotSettings()
    assert settings.webhook_path == "/telegram/webhook"
    assert settings.file_base_url == "https://api.telegram.org/file/bot"
    assert (settings.host, settings.port) == ("127.0.0.1", 8081)
    monkeypatch.setenv("REPAIRS_URL", "http://repairs:8000")
    assert BotSettings().repairs_url == "http://repairs:8000"


def test_replies_render_as_native_telegram_messages() -> None:
    """Through python-telegram-bot to the stand-in: split text, a keyboard on the last part, an image."""
    from telegram import Bot

    from bot.rasa_gateway import Reply
    from bot.telegram.rendering import send_replies
    from tests.telegram_standin import TelegramStandIn

    long_text = "\n\n".join(f"Paragraph {i}. " + "word " * 150 for i in range(8))
    replies = [Reply(text=long_text, buttons=(Button("Yes", "/affirm"), Button("No", "/deny"))),
               Reply(image="https://example.org/stop-tap.png", text="Your stop tap"),
               Reply(buttons=(Button("Talk to a person", "/request_human"),))]
    with TelegramStandIn() as tg:
        tg.open_chat(77)

        async def run() -> int | None:
            async with Bot(tg.token, base_url=tg.base_url) as bot:
                return await send_replies(bot, 77, replies, None)

        last_keyboard = asyncio.run(run())
        sent = tg.sent(77)
    texts = [m for m in sent if m.kind == "text"]
    assert len(texts) >= 3 and all(utf16_len(m.body) <= 4096 for m in texts)
    assert " ".join(m.body for m in texts[:-1]).split() == long_text.split(), "nothing lost"
    assert [m.button_titles for m in texts[:-1]][-1] == ["Yes", "No"] and not any(m.buttons for m in texts[:-2])
    photo = next(m for m in sent if m.kind == "photo")
    assert (photo.photo, photo.caption) == ("https://example.org/stop-tap.png", "Your stop tap")
    assert texts[-1].body == "Please choose:" and last_keyboard == texts[-1].message_id


def _edge_against_nothing() -> tuple[object, int]:
    """Edge services whose Rasa and repairs service refuse connections (a port nobody listens on)."""
    from bot.rasa_gateway import RasaGateway
    from bot.repairs_client import RepairsClient
    from bot.telegram.conversation import EdgeServices
    from evaluation.rasa_process import free_port

    port = free_port()
    settings = BotSettings(RASA_CHANNEL_SECRET="c" * 64, _env_file=None)  # type: ignore[call-arg]
    edge = EdgeServices(settings=settings, rasa=RasaGateway(f"http://127.0.0.1:{port}", channel_secret="c" * 64,
                                                            timeout=2),
                        repairs=RepairsClient(f"http://127.0.0.1:{port}", "token", timeout=2, retries=1))
    return edge, port


def test_with_the_assistant_down_the_resident_still_gets_the_gas_number() -> None:
    from telegram import Bot

    from bot.telegram.conversation import EdgeServices, relay
    from tests.telegram_standin import TelegramStandIn

    edge, _ = _edge_against_nothing()
    assert isinstance(edge, EdgeServices)
    with TelegramStandIn() as tg:
        tg.open_chat(5)

        async def run() -> None:
            async with Bot(tg.token, base_url=tg.base_url) as bot:
                await relay(bot, edge, 5, "i can smell gas", typed=True)
            await edge.aclose()

        asyncio.run(run())
        assert "try again" in tg.texts(5)[0] and "0800 111 999" in tg.texts(5)[0]


def test_with_the_repairs_service_down_updates_are_still_handled() -> None:
    """De-duplication fails open: a missed check costs a repeated answer, a dropped message could be a gas leak."""
    from telegram import Bot

    from bot.telegram.application import _first_delivery
    from bot.telegram.conversation import EdgeServices

    edge, _ = _edge_against_nothing()
    assert isinstance(edge, EdgeServices)
    update = _update(1, 5)
    update.set_bot(Bot("42:abc"))

    async def run() -> bool:
        try:
            return await _first_delivery(edge)(update)
        finally:
            await edge.aclose()

    assert asyncio.run(run()) is True


def test_only_residents_private_messages_and_taps_carry_their_chat_to_be_counted() -> None:
    """The update claim names the chat (so the repairs service counts its conversation) for a resident's
    message, command or button tap; never for the officers' group or its alert buttons."""
    from telegram import CallbackQuery

    from bot.telegram.application import resident_chat

    assert resident_chat(_update(1, 5)) == "5"
    group = Chat(-1001234, "supergroup")
    in_group = Message(2, date=None, chat=group, from_user=User(7, "O", False), text="/status")  # type: ignore[arg-type]
    assert resident_chat(Update(2, message=in_group)) is None

    def tap(message: Message) -> Update:
        query = CallbackQuery("q", User(7, "O", False), "ci", message=message, data="r|/affirm")
        return Update(3, callback_query=query)

    private = _update(4, 5).message
    assert private is not None
    assert resident_chat(tap(private)) == "5"
    assert resident_chat(tap(in_group)) is None, "an officer's tap on an emergency alert"
    assert resident_chat(Update(5)) is None
    # An officer sending their link code privately is not a resident's conversation either.
    for text in ("/link ABCD2345", "/link", "/LINK@repairs_bot abcd2345", "/start link-ABCD2345"):
        linking = Message(6, date=None, chat=Chat(5, "private"), from_user=User(5, "O", False), text=text)  # type: ignore[arg-type]
        assert resident_chat(Update(6, message=linking)) is None, text
    for text in ("/start", "/linkage is broken", "link my repair"):
        words = Message(7, date=None, chat=Chat(5, "private"), from_user=User(5, "R", False), text=text)  # type: ignore[arg-type]
        assert resident_chat(Update(7, message=words)) == "5", text
