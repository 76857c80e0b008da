"""`python -m bot` as a real process, pointed at the Telegram stand-in and an assistant stack (tests, bench)."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from evaluation.rasa_process import free_port, managed_process, wait_until_ready
from tests.assistant_stack import Stack
from tests.telegram_standin import TelegramStandIn


@dataclass
class RunningBot:
    url: str
    mode: str
    webhook_secret: str
    log_file: Path

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/telegram/webhook"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


@contextmanager
def running_bot(tg: TelegramStandIn, stack: Stack, log_file: Path, *,
                mode: Literal["polling", "webhook"] = "webhook", env: dict[str, str] | None = None,
                port: int | None = None, webhook_secret: str | None = None) -> Iterator[RunningBot]:
    port = port or free_port()
    secret = webhook_secret or secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}"
    bot_env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TELEGRAM_", "BOT_", "RASA_", "REPAIRS_"))}
    bot_env.update({
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url, "TELEGRAM_MODE": mode,
        "TELEGRAM_WEBHOOK_URL": f"{url}/telegram/webhook", "TELEGRAM_WEBHOOK_SECRET": secret,
        "TELEGRAM_POLL_TIMEOUT": "2", "BOT_PORT": str(port), "RASA_URL": stack.rasa_url,
        "RASA_TOKEN": stack.rasa_token, "RASA_CHANNEL_SECRET": stack.channel_secret,
        "REPAIRS_API_URL": stack.repairs_url, "REPAIRS_API_TOKEN": stack.repairs_token, **(env or {}),
    })

    def ready() -> bool:
        health = httpx.get(f"{url}/healthz", timeout=2)
        return health.status_code == 200 and health.json().get("telegram") == mode

    with managed_process([sys.executable, "-m", "bot"], bot_env, log_file) as process:
        wait_until_ready(process, ready, "bot", 60)
        yield RunningBot(url=url, mode=mode, webhook_secret=secret, log_file=log_file)
