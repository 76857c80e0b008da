"""Web chat settings, read once from the environment (and `.env`).

Kept apart from `bot.settings.BotSettings` (the Telegram edge's) so the two can change independently;
Rasa's and the repairs service's addresses, and the message length cap, come from there.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
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
