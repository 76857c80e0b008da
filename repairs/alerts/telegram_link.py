"""Linking an officer's Telegram account with a one-time code, so a tap on an alert's button in the officers'
group counts for the officer who really holds that account.

Typing a Telegram user id proved nothing (anyone can type anyone's), so the proof is a code: the workspace
shows it to the signed-in officer, the officer sends `/link CODE` to the bot from their own Telegram
account (or opens the t.me link, which sends `/start link-CODE`), and the bot passes the code on with the
sender's user id, which Telegram vouches for. A code works once, within ten minutes; only a keyed hash
of it is stored. Redeeming is one UPDATE ... WHERE used_at IS NULL AND expires_at > now, so two redeems
of one code at once (two bot replicas) cannot both win. Wrong codes are counted per Telegram account in
the identity-check throttle's table (repairs/residents/verify_throttle.py), so codes cannot be guessed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from repairs.alerts import actions
from repairs.alerts.models import TelegramLinkCode
from repairs.auth.accounts import record_event
from repairs.auth.models import AccountAction, Officer
from repairs.auth.throttle_keys import throttle_key
from repairs.database import utcnow
from repairs.residents.verify_throttle import ThrottlePolicy
from repairs.settings import Settings

CODE_TTL = timedelta(minutes=10)
KEEP = timedelta(days=1)  # codes are deleted this long after they expire (the link itself is on record)
# No 0/O, 1/I/L: read off a screen and typed on a phone. 31 ** 8 is about 8.5e11 codes.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
START_PREFIX = "link-"  # the t.me deep link's start parameter: /start link-CODE
_SEPARATORS = re.compile(r"[\s-]+")

NOT_VALID = ("That code did not work: it may be mistyped, used already or more than 10 minutes old. Make a new "
             "one in the workspace (Alerts page) and send it within 10 minutes.")
TAKEN = "This Telegram account is already linked to another officer account. Unlink it there first."


class LinkRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime


def code_hash(secret: bytes, code: str) -> str:
    return throttle_key(secret, "telegram-link-code", code)


def normalise_code(raw: str) -> str | None:
    """'abcd 2345', 'ABCD-2345' -> 'ABCD2345'; None when it cannot be a code (nothing is looked up)."""
    code = _SEPARATORS.sub("", raw or "").upper()
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def deep_link(settings: Settings, code: str) -> str | None:
    """The t.me link that opens the bot with the code filled in, when the bot's username is known."""
    if not settings.telegram_bot_username:
        return None
    return f"https://t.me/{quote(settings.telegram_bot_username)}?start={START_PREFIX}{code}"


def link_throttle(settings: Settings) -> ThrottlePolicy:
    return ThrottlePolicy(settings.telegram_link_max_failures, timedelta(minutes=settings.telegram_link_window_minutes))


def guess_key(secret: bytes, telegram_user_id: int) -> str:
    return throttle_key(secret, "telegram-link-user", str(telegram_user_id))


def issue_code(session: Session, secret: bytes, officer_id: int, *, now: datetime | None = None) -> IssuedCode:
    """A new code for the officer; any earlier one they have not used stops working."""
    now = now or utcnow()
    session.execute(
        delete(TelegramLinkCode).where(TelegramLinkCode.officer_id == officer_id, TelegramLinkCode.used_at.is_(None))
    )
    session.execute(delete(TelegramLinkCode).where(TelegramLinkCode.expires_at < now - KEEP))
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + CODE_TTL
    session.add(TelegramLinkCode(officer_id=officer_id, code_hash=code_hash(secret, code), created_at=now,
                                 expires_at=expires_at))
    session.flush()
    return IssuedCode(code=code, expires_at=expires_at)


def waiting_code_expiry(session: Session, officer_id: int, *, now: datetime | None = None) -> datetime | None:
    """When the officer's unused code stops working, if they have one (the code itself cannot be shown again)."""
    now = now or utcnow()
    return session.scalar(
        select(TelegramLinkCode.expires_at).where(
            TelegramLinkCode.officer_id == officer_id, TelegramLinkCode.used_at.is_(None),
            TelegramLinkCode.expires_at > now,
        )
    )


def redeem(session: Session, secret: bytes, raw_code: str, telegram_user_id: int, *,
           now: datetime | None = None) -> Officer:
    """Use the code for the Telegram account that sent it, and link that account to the code's officer.
    Raises LinkRefused; the caller's transaction then rolls back, so a refused link uses up no code."""
    code = normalise_code(raw_code)
    if code is None:
        raise LinkRefused("code_not_valid", NOT_VALID)
    now = now or utcnow()
    hashed = code_hash(secret, code)
    used = session.execute(
        update(TelegramLinkCode)
        .where(TelegramLinkCode.code_hash == hashed, TelegramLinkCode.used_at.is_(None),
               TelegramLinkCode.expires_at > now)
        .values(used_at=now, telegram_user_id=telegram_user_id)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkRefused("code_not_valid", NOT_VALID)
    officer = session.scalar(
        select(Officer).join(TelegramLinkCode, TelegramLinkCode.officer_id == Officer.id)
        .where(TelegramLinkCode.code_hash == hashed)
    )
    if officer is None or not officer.active:
        raise LinkRefused("code_not_valid", NOT_VALID)
    if officer.telegram_user_id == telegram_user_id:
        return officer
    try:
        actions.link_telegram(session, officer.id, telegram_user_id)
    except actions.AlertActionRefused:
        raise LinkRefused("telegram_user_taken", TAKEN) from None
    record_event(session, officer.id, officer.id, AccountAction.TELEGRAM_LINKED)
    return officer


def unlink(session: Session, officer_id: int) -> bool:
    """Unlink the officer's Telegram account; False when none was linked."""
    officer = session.get(Officer, officer_id)
    if officer is None or officer.telegram_user_id is None:
        return False
    actions.link_telegram(session, officer_id, None)
    record_event(session, officer_id, officer_id, AccountAction.TELEGRAM_UNLINKED)
    return True
