"""The Telegram Bot API stand-in behaves like Telegram for python-telegram-bot's real client over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import AIORateLimiter, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from tests.telegram_standin import TelegramStandIn


@pytest.fixture
def tg() -> Iterator[TelegramStandIn]:
    with TelegramStandIn() as standin:
        yield standin


def _bot(tg: TelegramStandIn, token: str | None = None) -> Bot:
    return Bot(token or tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)


def test_polling_bot_with_inline_keyboard_round_trip(tg: TelegramStandIn) -> None:
    """A real PTB Application polls, replies with a keyboard, and handles the tap."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="/affirm"),
                                          InlineKeyboardButton("No", callback_data="/deny")]])
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}", reply_markup=keyboard)

    async def tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer("noted")
        await query.edit_message_reply_markup(InlineKeyboardMarkup(
            [[InlineKeyboardButton(f"✓ {query.data}", callback_data="chosen")]]))

    async def run() -> None:
        app = (ApplicationBuilder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url)
               .build())
        app.add_handler(MessageHandler(filters.TEXT, echo))
        app.add_handler(CallbackQueryHandler(tapped))
        async with app:
            assert app.bot.username == "repairs_standin_bot"
            assert app.updater is not None
            await app.updater.start_polling(timeout=5)
            await app.start()
            await asyncio.to_thread(tg.user_text, 7, "hello there")
            reply = await asyncio.to_thread(tg.wait_for_text, 7, "echo: hello there", timeout=10)
            assert reply.button_titles == ["Yes", "No"]
            await asyncio.to_thread(tg.tap, 7, "No")
            await asyncio.to_thread(tg.wait_for, 7, lambda m: m.button_titles == ["✓ /deny"], timeout=10)
            await app.updater.stop()
            await app.stop()

    asyncio.run(run())
    assert [a["text"] for a in tg.callback_answers().values()] == ["noted"]
    assert tg.pending_updates() == 0, "the final getUpdates confirms the offset"
    assert tg.calls["getupdates"] >= 2


def test_get_updates_long_polls_and_confirms_by_offset(tg: TelegramStandIn) -> None:
    api = f"{tg.base_url}{tg.token}"
    started = time.monotonic()
    empty = httpx.post(f"{api}/getUpdates", json={"timeout": 1}, timeout=5).json()
    assert empty == {"ok": True, "result": []} and time.monotonic() - started >= 0.9

    def later() -> None:
        time.sleep(0.3)
        tg.user_text(5, "first")

    threading.Thread(target=later).start()
    started = time.monotonic()
    got = httpx.post(f"{api}/getUpdates", json={"timeout": 10}, timeout=15).json()["result"]
    assert time.monotonic() - started < 3, "a long poll answers as soon as an update arrives"
    assert [u["message"]["text"] for u in got] == ["first"]
    tg.user_text(5, "second")
    again = httpx.post(f"{api}/getUpdates", json={"timeout": 0}, timeout=5).json()["result"]
    assert [u["message"]["text"] for u in again] == ["first", "second"], "unconfirmed updates come again"
    after = httpx.post(f"{api}/getUpdates", json={"offset": again[0]["update_id"] + 1}, timeout=5).json()
    assert [u["message"]["text"] for u in after["result"]] == ["second"]
    tg.duplicate(again[0]["update_id"])
    replay = httpx.post(f"{api}/getUpdates", json={"timeout": 0}, timeout=5).json()["result"]
    assert [u["update_id"] for u in replay] == [again[0]["update_id"], again[1]["update_id"]], "in update_id order"


def test_error_envelopes_reach_ptb_as_its_exceptions(tg: TelegramStandIn) -> None:
    async def run() -> None:
        async with _bot(tg, "999:wrong-token-abcdefghijklmnopqrstuvw") as _:
            pass

    with pytest.raises(InvalidToken):
        asyncio.run(run())

    async def sends() -> None:
        async with _bot(tg) as bot:
            with pytest.raises(BadRequest, match=r"[Cc]hat not found"):
                await bot.send_message(404, "hello")
            tg.open_chat(11)
            with pytest.raises(BadRequest, match="too long"):
                await bot.send_message(11, "x" * 4097)
            await bot.send_message(11, "é" * 4096)
            with pytest.raises(BadRequest, match=r"[Bb]utton_data_invalid"):
                await bot.send_message(11, "pick", reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("A", callback_data="x" * 65)]]))
            tg.block(11)
            with pytest.raises(Forbidden):
                await bot.send_message(11, "hello")
            tg.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
            tg.open_chat(12)
            with pytest.raises(RetryAfter) as info:
                await bot.send_message(12, "hello")
            wait = info.value.retry_after
            assert (wait.total_seconds() if isinstance(wait, dt.timedelta) else wait) == 3
            await bot.set_webhook("http://127.0.0.1:1/hook")
            with pytest.raises(Conflict):
                await bot.get_updates()

    asyncio.run(sends())


def test_files_photos_and_chat_actions(tg: TelegramStandIn) -> None:
    image = b"\xff\xd8\xff\xe0" + b"jpeg" * 100
    update_id = tg.user_photo(21, image, caption="the leak")
    huge = tg.add_file(b"small really", reported_size=25 * 1024 * 1024)

    async def run() -> None:
        async with _bot(tg) as bot:
            updates = await bot.get_updates(offset=update_id)
            message = updates[0].message
            assert message is not None and message.caption == "the leak"
            largest = max(message.photo, key=lambda p: p.width)
            assert largest.file_size == len(image)
            file = await bot.get_file(largest.file_id)
            assert bytes(await file.download_as_bytearray()) == image
            with pytest.raises(BadRequest, match="too big"):
                await bot.get_file(huge)
            await bot.send_chat_action(21, "typing")
            sent = await bot.send_photo(21, photo=b"\x89PNG\r\n\x1a\n" + b"0" * 50, caption="here")
            assert sent.photo and sent.caption == "here"
            await bot.send_photo(21, photo="https://example.org/plan.png")

    asyncio.run(run())
    assert tg.chat_actions(21) == ["typing"]
    photos = [m for m in tg.sent(21) if m.kind == "photo"]
    assert photos[0].photo is not None and photos[0].photo.startswith("upload:")
    assert photos[1].photo == "https://example.org/plan.png"


def test_other_media_and_commands_look_like_telegrams(tg: TelegramStandIn) -> None:
    ids = [tg.user_text(3, "/start"), tg.user_text(3, "/greet{\"x\": 1}"), tg.user_sticker(3),
           tg.user_voice(3), tg.user_video(3), tg.user_location(3, 51.53, -0.14),
           tg.user_contact(3, "+447700900123"),
           tg.user_document(3, b"%PDF-1.7", file_name="lease.pdf", mime_type="application/pdf")]

    async def run() -> list[Update]:
        async with _bot(tg) as bot:
            return list(await bot.get_updates(offset=ids[0]))

    updates = asyncio.run(run())
    messages = [u.message for u in updates]
    assert all(m is not None for m in messages)
    start, greet, sticker, voice, video, location, contact, document = messages
    assert start and start.text == "/start" and start.entities[0].type == "bot_command"
    assert greet and greet.entities[0].length == len("/greet")
    assert sticker and sticker.sticker and voice and voice.voice and video and video.video
    assert location and location.location and location.location.latitude == pytest.approx(51.53)
    assert contact and contact.contact and contact.contact.user_id == 3
    assert document and document.document and document.document.mime_type == "application/pdf"


def test_webhook_posts_updates_with_the_secret_header_and_retries(tg: TelegramStandIn) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    answers = iter([500])

    async def hook(request: Request) -> Response:
        received.append((request.headers.get("x-telegram-bot-api-secret-token"), json.loads(await request.body())))
        return Response(status_code=next(answers, 200))

    from evaluation.rasa_process import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)

        async def register() -> None:
            async with _bot(tg) as bot:
                assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret-Value_1")

        asyncio.run(register())
        update_id = tg.user_text(9, "via webhook")
        deadline = time.monotonic() + 10
        # The stand-in books a post's answer after the hook has returned it: wait for the booking too,
        # or the check below races the stand-in's own bookkeeping.
        while (len(received) < 2 or len(tg.webhook_attempts) < 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(secret, body["update_id"]) for secret, body in received] == [
            ("s3cret-Value_1", update_id), ("s3cret-Value_1", update_id)], "a 500 is retried"
        assert tg.pending_updates() == 0
        assert [status for _, status in tg.webhook_attempts] == [500, 200]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_flood_limit_answers_429_and_ptbs_rate_limiter_stays_under_it() -> None:
    with TelegramStandIn(flood_limit=30, strict_chats=False) as tg:
        async def burst_without_limiter() -> int:
            async with _bot(tg) as bot:
                results = await asyncio.gather(*(bot.send_message(1000 + i, "hi") for i in range(45)),
                                               return_exceptions=True)
            return sum(isinstance(r, RetryAfter) for r in results)

        refused = asyncio.run(burst_without_limiter())
        assert refused >= 10 and tg.throttled == refused
        time.sleep(1.1)

        async def with_limiter() -> float:
            app = (ApplicationBuilder().token(tg.token).base_url(tg.base_url)
                   .rate_limiter(AIORateLimiter(max_retries=3)).updater(None).build())
            async with app:
                started = time.monotonic()
                await asyncio.gather(*(app.bot.send_message(2000 + i, "hi") for i in range(60)))
                return time.monotonic() - started

        before = tg.sent_total
        took = asyncio.run(with_limiter())
        assert tg.sent_total - before == 60
        assert took >= 0.9, "60 messages at 30/s take about a second or more"
