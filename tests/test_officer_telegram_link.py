"""An officer links their Telegram account with a one-time code from the workspace, sent to the bot from that
account (`/link CODE`, or `/start link-CODE` from the t.me link): the code works once, within ten minutes,
and wrong codes are throttled per Telegram account. Typing a user id, which proved nothing, is gone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from repairs.alerts.models import TelegramLinkCode
from repairs.alerts.telegram_link import ALPHABET, CODE_LENGTH, code_hash
from repairs.auth.models import AccountAction, Officer, OfficerAccountEvent
from repairs.context import ServiceContext
from repairs.database import transaction, utcnow
from tests.conftest import SERVICE_HEADERS, LiveServer
from tests.factories import Factory, OfficerHandle
from tests.telegram_standin import TelegramStandIn

REDEEM = "/api/v1/telegram/officer-links"


def new_code(http: TestClient | httpx.Client, officer: OfficerHandle) -> str:
    r = http.post("/api/v1/officer/me/telegram/link-code", headers=officer.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def redeem(http: TestClient | httpx.Client, code: str, user: int) -> httpx.Response:
    return http.post(REDEEM, headers=SERVICE_HEADERS, json={"code": code, "telegram_user_id": user})


def linked_id(ctx: ServiceContext, officer: OfficerHandle) -> int | None:
    with transaction(ctx.sessions) as s:
        return s.scalar(sa.select(Officer.telegram_user_id).where(Officer.id == officer.id))


def test_a_code_links_the_account_that_sends_it_once(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    code = new_code(client, officer)
    assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)
    # Typed loosely: lower case, a space in the middle.
    r = redeem(client, f"{code[:4].lower()} {code[4:]}", 8880001)
    assert r.status_code == 200, r.text
    assert r.json()["officer_name"] == "Test Officer"
    assert linked_id(ctx, officer) == 8880001
    assert client.get("/api/v1/officer/me/telegram", headers=officer.headers).json() == {
        "linked": True, "telegram_user_id": 8880001}
    # Used: someone else sending the same code gets nothing, and the link stands.
    again = redeem(client, code, 8880002)
    assert again.status_code == 422 and again.json()["code"] == "code_not_valid"
    assert linked_id(ctx, officer) == 8880001
    with transaction(ctx.sessions) as s:
        row = s.scalar(sa.select(TelegramLinkCode))
        assert row is not None and row.used_at is not None and row.telegram_user_id == 8880001
        assert row.code_hash == code_hash(ctx.settings.secret_key.get_secret_value().encode(), code)  # type: ignore[union-attr]
        assert code not in row.code_hash
        actions = s.scalars(sa.select(OfficerAccountEvent.action).where(OfficerAccountEvent.officer_id == officer.id))
        assert AccountAction.TELEGRAM_LINKED in list(actions)


def test_a_code_older_than_ten_minutes_does_not_work(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    code = new_code(client, officer)
    with transaction(ctx.sessions) as s:
        row = s.scalar(sa.select(TelegramLinkCode))
        assert row is not None
        assert timedelta(minutes=9, seconds=50) < row.expires_at - utcnow() <= timedelta(minutes=10)
        s.execute(sa.update(TelegramLinkCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = redeem(client, code, 8880003)
    assert r.status_code == 422 and "10 minutes" in r.json()["detail"]
    assert linked_id(ctx, officer) is None


def test_a_wrong_code_links_nobody_and_a_new_code_replaces_the_old(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    first = new_code(client, officer)
    wrong = next(c for c in ("AAAAAAAA", "BBBBBBBB") if c != first)
    assert redeem(client, wrong, 8880004).status_code == 422
    assert redeem(client, "not a code at all", 8880004).status_code == 422
    second = new_code(client, officer)
    assert redeem(client, first, 8880004).status_code == 422  # replaced
    assert redeem(client, second, 8880004).status_code == 200
    assert linked_id(ctx, officer) == 8880004


def test_guessing_codes_is_throttled_per_telegram_account(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    code = new_code(client, officer)
    guesses = [c * CODE_LENGTH for c in "ABCDEFG" if c * CODE_LENGTH != code][:5]
    for guess in guesses:
        assert redeem(client, guess, 8880005).status_code == 422
    # The sixth try waits, even with the right code...
    blocked = redeem(client, code, 8880005)
    assert blocked.status_code == 429 and 800 <= int(blocked.headers["Retry-After"]) <= 901
    # ...which is still good for the officer's own account.
    assert redeem(client, code, 8880006).status_code == 200
    assert linked_id(ctx, officer) == 8880006


def test_one_telegram_account_links_to_one_officer_and_a_refusal_uses_no_code(
    client: TestClient, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    jo, sam = factory.officer(), factory.officer()
    assert redeem(client, new_code(client, jo), 8880007).status_code == 200
    code = new_code(client, sam)
    taken = redeem(client, code, 8880007)
    assert taken.status_code == 409 and taken.json()["code"] == "telegram_user_taken"
    assert client.delete("/api/v1/officer/me/telegram", headers=jo.headers).status_code == 204
    assert redeem(client, code, 8880007).status_code == 200  # the refused code was not used up
    assert linked_id(ctx, sam) == 8880007 and linked_id(ctx, jo) is None
    with transaction(ctx.sessions) as s:
        actions = list(s.scalars(sa.select(OfficerAccountEvent.action).where(OfficerAccountEvent.officer_id == jo.id)))
    assert AccountAction.TELEGRAM_UNLINKED in actions


def test_typing_a_user_id_is_gone_and_only_the_bot_may_redeem(client: TestClient, factory: Factory) -> None:
    officer = factory.officer()
    r = client.put("/api/v1/officer/me/telegram", headers=officer.headers, json={"telegram_user_id": 8880008})
    assert r.status_code == 405
    code = new_code(client, officer)
    body = {"code": code, "telegram_user_id": 8880008}
    assert client.post(REDEEM, json=body).status_code == 401
    assert client.post(REDEEM, json=body, headers=officer.headers).status_code == 403
    assert client.post("/api/v1/officer/me/telegram/link-code", headers=SERVICE_HEADERS).status_code == 403


def test_with_the_bots_username_the_code_comes_with_a_t_me_link(
    client: TestClient, factory: Factory, ctx: ServiceContext
) -> None:
    from tests.workspace_client import csrf_of, sign_in

    ctx.settings = ctx.settings.model_copy(update={"telegram_bot_username": "camden_repairs_bot"})
    officer = factory.officer()
    r = client.post("/api/v1/officer/me/telegram/link-code", headers=officer.headers)
    assert r.json()["link"] == f"https://t.me/camden_repairs_bot?start=link-{r.json()['code']}"
    assert sign_in(client, officer.email, officer.password).status_code == 303
    page = client.post("/officer/alerts/telegram/code", data={"csrf_token": csrf_of(client.get("/officer/alerts"))})
    assert 'href="https://t.me/camden_repairs_bot?start=link-' in page.text


def test_one_code_sent_twice_at_once_links_once(
    live_server: LiveServer, factory: Factory, ctx: ServiceContext, backend: str
) -> None:
    officer = factory.officer()
    statuses: list[int] = []
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        code = new_code(http, officer)
        barrier = threading.Barrier(4)

        def send(n: int) -> None:
            barrier.wait(timeout=10)
            statuses.append(redeem(http, code, 8880100 + n).status_code)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert sorted(statuses) == [200, 422, 422, 422]
    assert (linked_id(ctx, officer) or 0) - 8880100 in range(4)


# -- through the real bot and the Telegram stand-in ------------------------------------------------------


@pytest.fixture
def bot(live_server: LiveServer, ctx: ServiceContext, tmp_path: Path) -> Iterator[tuple[TelegramStandIn, httpx.Client]]:
    """The real bot (python-telegram-bot), polling the Telegram stand-in, and a client of the service."""
    from tests.assistant_stack import Stack
    from tests.bot_process import running_bot
    from tests.conftest import SERVICE_TOKEN

    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        # Rasa is not needed: nothing listens on port 9, and linking never reaches the assistant.
        stack = Stack(rasa_url="http://127.0.0.1:9", repairs_url=live_server.url, repairs_token=SERVICE_TOKEN,
                      database_url=str(ctx.settings.database_url), channel_secret="c" * 64)
        with TelegramStandIn() as tg, running_bot(tg, stack, tmp_path / "bot.log", mode="polling"):
            yield tg, http


@pytest.mark.slow
def test_through_the_bot_link_and_start_link_work_once_and_wrong_codes_are_answered(
    bot: tuple[TelegramStandIn, httpx.Client], factory: Factory, ctx: ServiceContext, tmp_path: Path
) -> None:
    tg, http = bot
    jo, sam = factory.officer(), factory.officer()
    jo_chat, sam_chat, stranger = 9990001, 9990002, 9990003
    for chat in (jo_chat, sam_chat, stranger):
        tg.open_chat(chat, first_name="Officer")

    code = new_code(http, jo)
    tg.user_text(jo_chat, f"/link {code}")
    tg.wait_for_text(jo_chat, "Linked", timeout=30)
    assert linked_id(ctx, jo) == jo_chat

    # The same code again, from another account: refused, in plain words, and nothing changes.
    tg.user_text(stranger, f"/link {code}")
    tg.wait_for_text(stranger, "did not work", timeout=30)
    assert linked_id(ctx, jo) == jo_chat

    # The t.me link's way in: /start link-CODE (a plain /start still goes to the assistant).
    sam_code = new_code(http, sam)
    tg.user_text(sam_chat, f"/start link-{sam_code}")
    tg.wait_for_text(sam_chat, "Linked", timeout=30)
    assert linked_id(ctx, sam) == sam_chat

    # A code that is too old.
    old = new_code(http, factory.officer())
    with transaction(ctx.sessions) as s:
        s.execute(sa.update(TelegramLinkCode).where(TelegramLinkCode.used_at.is_(None))
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    tg.user_text(stranger, f"/link {old}")
    tg.wait_for(stranger, lambda m: "did not work" in m.body, after=1, timeout=30)

    # Guessing: after five wrong codes (two above) the account waits.
    for n in range(3):
        tg.user_text(stranger, f"/link {'ABCDEFGH'[n] * CODE_LENGTH}")
        tg.wait_for(stranger, lambda m: "did not work" in m.body, after=2 + n, timeout=30)
    tg.user_text(stranger, "/link ZZZZZZZZ")
    tg.wait_for_text(stranger, "Too many codes", timeout=30)

    # Without a code: how to use it. In a group: never (the code would be seen by everyone there).
    tg.user_text(stranger, "/link")
    tg.wait_for_text(stranger, "followed by the code", timeout=30)
    group = -1009990000
    group_code = new_code(http, factory.officer())
    tg.user_text(group, f"/link {group_code}", from_id=stranger, chat_type="supergroup")
    tg.wait_for(group, lambda m: True, timeout=30)
    with transaction(ctx.sessions) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Officer).where(
            Officer.telegram_user_id == stranger)) == 0
    log = (tmp_path / "bot.log").read_text()
    assert code not in log and sam_code not in log and str(stranger) not in log
