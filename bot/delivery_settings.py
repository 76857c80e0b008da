"""Settings for delivering proactive updates (the outbox worker), read once from the environment.

Kept apart from `bot.settings.BotSettings` (the Telegram edge's) so the two can change independently;
the repairs service's address and token come from there.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeliverySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    enabled: bool = Field(default=True, alias="BOT_DELIVERY_ENABLED")
    # Rows leased per claim, and for how long. A lease must outlast the batch: rows whose send cannot
    # start and finish inside it are left for the next claim rather than risk two workers sending them.
    batch_size: int = Field(default=50, ge=1, le=200, alias="BOT_DELIVERY_BATCH_SIZE")
    lease_seconds: int = Field(default=60, ge=1, le=3600, alias="BOT_DELIVERY_LEASE_SECONDS")
    # Each send, and each call to the repairs service, is given up after this long.
    send_timeout_seconds: float = Field(default=15.0, gt=0, le=120, alias="BOT_DELIVERY_SEND_TIMEOUT")
    call_timeout_seconds: float = Field(default=10.0, gt=0, le=120, alias="BOT_DELIVERY_CALL_TIMEOUT")
    # Polling when there is nothing to send: starts at the minimum, doubles up to the maximum.
    idle_min_seconds: float = Field(default=0.5, gt=0, alias="BOT_DELIVERY_IDLE_MIN")
    idle_max_seconds: float = Field(default=5.0, gt=0, alias="BOT_DELIVERY_IDLE_MAX")
    # Waiting for the repairs service when it is down: doubles up to this.
    outage_max_seconds: float = Field(default=30.0, gt=0, alias="BOT_DELIVERY_OUTAGE_MAX")
    # Telegram's flood limits: about 30 messages a second overall, and one a second in any one chat.
    messages_per_second: int = Field(default=30, ge=1, le=1000, alias="BOT_DELIVERY_MESSAGES_PER_SECOND")
    per_chat_interval_seconds: float = Field(default=1.0, ge=0, le=60, alias="BOT_DELIVERY_PER_CHAT_INTERVAL")
    # Where the bot replicas share their record of messages a channel accepted (bot/sent_record.py), the
    # Redis the web chat's limits use: then no replica sends again a message another sent but could not
    # acknowledge. Unset: each process remembers its own sends only.
    redis_url: SecretStr | None = Field(default=None, alias="BOT_REDIS_URL")
    # Sends in flight at once (across chats).
    concurrency: int = Field(default=30, ge=1, le=500, alias="BOT_DELIVERY_CONCURRENCY")

    @model_validator(mode="after")
    def _a_send_fits_in_a_lease(self) -> DeliverySettings:
        if self.send_timeout_seconds >= self.lease_seconds:
            raise ValueError("BOT_DELIVERY_SEND_TIMEOUT must be shorter than BOT_DELIVERY_LEASE_SECONDS")
        return self
