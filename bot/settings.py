"""The bot's settings, read once from the environment (and an optional `.env` file) and passed in.

Nothing else in `bot/` reads `os.environ`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from repairs_common import turn_signing

# Telegram's own limits (https://core.telegram.org/bots/api): text messages, and files a bot may download.
TELEGRAM_MAX_TEXT = 4096
TELEGRAM_MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- Telegram (starts only when a token is set) ---
    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_mode: Literal["polling", "webhook"] = Field(default="polling", alias="TELEGRAM_MODE")
    # python-telegram-bot's `base_url` form: the token is appended. Tests point it at a local stand-in.
    telegram_api_base_url: str = Field(default="https://api.telegram.org/bot", alias="TELEGRAM_API_BASE_URL")
    # Where files are downloaded from; derived from the base URL when unset (".../bot" -> ".../file/bot").
    telegram_api_file_url: str | None = Field(default=None, alias="TELEGRAM_API_FILE_URL")
    # The public HTTPS URL Telegram posts updates to, e.g. https://bot.example.org/telegram/webhook.
    telegram_webhook_url: str | None = Field(default=None, alias="TELEGRAM_WEBHOOK_URL")
    # Telegram sends it back in X-Telegram-Bot-Api-Secret-Token: 1-256 of A-Z, a-z, 0-9, _ and -.
    telegram_webhook_secret: SecretStr | None = Field(default=None, alias="TELEGRAM_WEBHOOK_SECRET")
    # Long-poll length for getUpdates, seconds.
    telegram_poll_timeout: int = Field(default=25, ge=0, le=50, alias="TELEGRAM_POLL_TIMEOUT")
    # Retries of a send that Telegram answered with 429 RetryAfter (python-telegram-bot's AIORateLimiter).
    telegram_send_retries: int = Field(default=3, ge=0, le=10, alias="TELEGRAM_SEND_RETRIES")
    # Updates handled at once across all chats (one chat's updates are always handled in order).
    telegram_concurrency: int = Field(default=64, ge=1, le=1024, alias="TELEGRAM_CONCURRENCY")

    # --- the bot's HTTP server (Telegram webhook, web chat) ---
    host: str = Field(default="127.0.0.1", alias="BOT_HOST")
    port: int = Field(default=8081, alias="BOT_PORT")
    # The longest message passed on to the assistant; longer ones are refused with a clear answer.
    max_message_chars: int = Field(default=1500, ge=50, le=TELEGRAM_MAX_TEXT, alias="BOT_MAX_MESSAGE_CHARS")
    # Photos larger than this are refused before download (Telegram serves bots at most 20 MB).
    max_photo_bytes: int = Field(default=TELEGRAM_MAX_DOWNLOAD_BYTES, ge=1, le=TELEGRAM_MAX_DOWNLOAD_BYTES,
                                 alias="BOT_MAX_PHOTO_BYTES")
    log_level: str = Field(default="INFO", alias="BOT_LOG_LEVEL")

    # --- the assistant (Rasa's signed channel) ---
    rasa_url: str = Field(default="http://127.0.0.1:5005", alias="RASA_URL")
    # Signs every turn passed to Rasa (repairs_common.turn_signing); Rasa holds the same and takes no turn
    # without it. Required: without it the bot could not talk to the assistant at all.
    rasa_channel_secret: SecretStr = Field(alias="RASA_CHANNEL_SECRET")
    # Rasa's HTTP API token: needed only to erase a conversation (/forget_me).
    rasa_token: SecretStr | None = Field(default=None, alias="RASA_TOKEN")
    rasa_timeout_seconds: float = Field(default=30.0, gt=0, alias="RASA_TIMEOUT_SECONDS")

    # --- the repairs service ---
    # REPAIRS_API_URL is what the action server reads too; REPAIRS_URL is accepted as well.
    repairs_url: str = Field(default="http://127.0.0.1:8000",
                             validation_alias=AliasChoices("REPAIRS_API_URL", "REPAIRS_URL"))
    repairs_api_token: SecretStr | None = Field(default=None, alias="REPAIRS_API_TOKEN")
    # A file holding the token instead (the demo writes one; containers mount secrets as files).
    repairs_api_token_file: Path | None = Field(default=None, alias="REPAIRS_API_TOKEN_FILE")
    repairs_timeout_seconds: float = Field(default=10.0, gt=0, alias="REPAIRS_TIMEOUT_SECONDS")

    @field_validator("rasa_channel_secret")
    @classmethod
    def _channel_secret_is_strong(cls, value: SecretStr) -> SecretStr:
        turn_signing.check_secret(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> BotSettings:
        # An empty token (compose passes `${TELEGRAM_BOT_TOKEN:-}`) means Telegram is off, as unset does.
        if self.telegram_enabled and self.telegram_mode == "webhook":
            if not self.telegram_webhook_url:
                raise ValueError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL")
            secret = self.telegram_webhook_secret.get_secret_value() if self.telegram_webhook_secret else ""
            if not 16 <= len(secret) <= 256 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret):
                raise ValueError("TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z, a-z, 0-9, _ and -")
        return self

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None and bool(self.telegram_bot_token.get_secret_value())

    @property
    def file_base_url(self) -> str:
        if self.telegram_api_file_url:
            return self.telegram_api_file_url
        base = self.telegram_api_base_url.rstrip("/")
        head, sep, tail = base.rpartition("/")
        return f"{head}/file/{tail}" if sep else f"{base}/file/bot"

    @property
    def webhook_path(self) -> str:
        """The path the webhook route listens on: the path of TELEGRAM_WEBHOOK_URL (default /telegram/webhook)."""
        from urllib.parse import urlsplit

        path = urlsplit(self.telegram_webhook_url or "").path
        return path if path not in ("", "/") else "/telegram/webhook"

    def repairs_token(self) -> str:
        if self.repairs_api_token is not None and self.repairs_api_token.get_secret_value():
            return self.repairs_api_token.get_secret_value()
        if self.repairs_api_token_file is not None and self.repairs_api_token_file.is_file():
            return self.repairs_api_token_file.read_text(encoding="utf-8").strip()
        return ""
