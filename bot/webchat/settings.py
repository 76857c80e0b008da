"""Web chat settings, read once from the environment (and `.env`).

Kept apart from `bot.settings.BotSettings` (the Telegram edge's) so the two can change independently;
Rasa's and the repairs service's addresses, and the message length cap, come from there.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from repairs.settings import PROJECT_ROOT

MEGABYTE = 1024 * 1024


class WebChatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    enabled: bool = Field(default=True, alias="WEBCHAT_ENABLED")
    # Signs session cookies, CSRF tokens, button payloads and update acknowledgements. Every replica
    # must share it. Unset, it is read from (or made in) WEBCHAT_SECRET_FILE, as the demo does.
    secret: SecretStr | None = Field(default=None, alias="WEBCHAT_SECRET")
    secret_file: Path = Field(default=PROJECT_ROOT / "var" / "webchat-secret", alias="WEBCHAT_SECRET_FILE")
    # How long a browser stays linked to the resident who verified in it. Long enough to see an update
    # days later; 0 keeps the session only until the browser is closed.
    session_days: int = Field(default=30, ge=0, le=400, alias="WEBCHAT_SESSION_DAYS")
    # The address residents use, e.g. https://repairs.example.org (behind a proxy). POSTs must come from
    # this origin, and an https address makes the cookie Secure. Unset: the address the request came to.
    public_url: str | None = Field(default=None, alias="WEBCHAT_PUBLIC_URL")
    # The repairs service takes photos of up to 10 MB; larger ones are refused here, before upload ends.
    max_photo_bytes: int = Field(default=10 * MEGABYTE, ge=1024, le=20 * MEGABYTE, alias="WEBCHAT_MAX_PHOTO_BYTES")
    # How often an open page asks for updates (seconds), and how many it takes at once.
    poll_seconds: int = Field(default=20, ge=2, le=600, alias="WEBCHAT_POLL_SECONDS")
    updates_per_poll: int = Field(default=20, ge=1, le=100, alias="WEBCHAT_UPDATES_PER_POLL")
    # An update handed to a page comes back for another page if it is not acknowledged within this.
    update_lease_seconds: int = Field(default=60, ge=5, le=3600, alias="WEBCHAT_UPDATE_LEASE_SECONDS")

    # --- rate limits: requests a minute, and how many may come at once (bot/webchat/limits.py) ---
    # Per session: typed messages and buttons (and "forget this chat"); photos; update polls and their
    # acknowledgements. A page asks for updates once every WEBCHAT_POLL_SECONDS and acknowledges what it
    # showed, so the poll limit must leave room for that (checked below).
    messages_per_minute: float = Field(default=20, gt=0, le=6000, alias="WEBCHAT_MESSAGES_PER_MINUTE")
    message_burst: int = Field(default=10, ge=1, le=1000, alias="WEBCHAT_MESSAGE_BURST")
    photos_per_minute: float = Field(default=10, gt=0, le=6000, alias="WEBCHAT_PHOTOS_PER_MINUTE")
    photo_burst: int = Field(default=5, ge=1, le=1000, alias="WEBCHAT_PHOTO_BURST")
    polls_per_minute: float = Field(default=120, gt=0, le=6000, alias="WEBCHAT_POLLS_PER_MINUTE")
    poll_burst: int = Field(default=30, ge=1, le=1000, alias="WEBCHAT_POLL_BURST")
    # Per client address, across all its sessions: messages and photos. A session costs nothing to start
    # (a new cookie), so without this one client could go round the session limits by dropping its
    # cookie. Looser, since a household, an office or a library shares one address. 0 turns it off
    # (where every request seems to come from one address: see FORWARDED_ALLOW_IPS in .env.example).
    client_per_minute: float = Field(default=120, ge=0, le=60000, alias="WEBCHAT_CLIENT_PER_MINUTE")
    client_burst: int = Field(default=60, ge=1, le=10000, alias="WEBCHAT_CLIENT_BURST")
    # Unset: each bot process keeps its own buckets (fine for one process; N replicas would let a client
    # through N times as fast). Set, e.g. redis://:password@redis:6379/0, the replicas share them there.
    redis_url: SecretStr | None = Field(default=None, alias="BOT_REDIS_URL")
    rate_limit_prefix: str = Field(default="webchat:limit:", min_length=1, alias="WEBCHAT_RATE_LIMIT_PREFIX")

    @model_validator(mode="after")
    def _polling_fits_in_the_poll_limit(self) -> WebChatSettings:
        # Per poll: the ask and up to two acknowledgements (one left from the last poll, one for this),
        # with room for the extra polls a tab makes each time it comes back into view.
        needed = 4 * 60 / self.poll_seconds
        if self.polls_per_minute < needed:
            raise ValueError(f"WEBCHAT_POLLS_PER_MINUTE must be at least {needed:g} for WEBCHAT_POLL_SECONDS="
                             f"{self.poll_seconds}, or open pages would be refused their own polls")
        return self

    def redis_url_value(self) -> str | None:
        """The Redis URL; None when unset or empty (as compose passes an optional one)."""
        value = self.redis_url.get_secret_value() if self.redis_url is not None else ""
        return value or None

    def signing_secret(self) -> str:
        if self.secret is not None and self.secret.get_secret_value():
            return self.secret.get_secret_value()
        return _shared_file_secret(self.secret_file)


def _shared_file_secret(path: Path, attempts: int = 50) -> str:
    """The demo's secret file, made on first use. Two processes starting at once may both try to make it:
    the loser waits for the winner's file to be written rather than fail or read it half-written."""
    import time

    from repairs.auth.secrets import read_or_create_secret

    for _ in range(attempts):
        try:
            value = read_or_create_secret(path, 32)
        except FileExistsError:
            value = ""
        if len(value) >= 32:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"the web chat secret in {path} is empty or too short: remove it to make a new one")
