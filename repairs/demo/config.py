"""Where the demo's parts listen and keep their files, read once from the environment (and `.env`).

The repairs service's own settings (REPAIRS_HOST, REPAIRS_PORT, ...) stay in `repairs.settings`; these are
the parts the demo adds around it: the Rasa server, the action server and the local `var/` directory.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from repairs.settings import PROJECT_ROOT


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Secrets, databases, logs and the Rasa endpoints file the demo writes (git-ignored).
    var_dir: Path = Field(default=PROJECT_ROOT / "var", alias="DEMO_VAR_DIR")
    # Trained Rasa models, cached by a fingerprint of the training data (shared with tests and `make eval`).
    models_dir: Path = Field(default=PROJECT_ROOT / "models", alias="DEMO_MODELS_DIR")
    # Rasa's HTTP API (token required) and signed channel, and the action server (token required). Loopback
    # only by default: neither is meant to be reached from another machine.
    rasa_host: str = Field(default="127.0.0.1", alias="RASA_HOST")
    rasa_port: int = Field(default=5005, ge=1, le=65535, alias="RASA_PORT")
    action_server_host: str = Field(default="127.0.0.1", alias="ACTION_SERVER_HOST")
    action_server_port: int = Field(default=5055, ge=1, le=65535, alias="ACTION_SERVER_PORT")
    # The bot's HTTP server: the web chat (and Telegram's webhook, when Telegram is on). Same variables
    # as the bot's own settings (bot/settings.py).
    bot_host: str = Field(default="127.0.0.1", alias="BOT_HOST")
    bot_port: int = Field(default=8081, ge=1, le=65535, alias="BOT_PORT")
    # Rasa loads the model and the MiniLM encoder before it answers; on a busy 2-core machine that can
    # take a while, so the wait is generous.
    rasa_ready_timeout_seconds: float = Field(default=240.0, alias="DEMO_RASA_READY_TIMEOUT_SECONDS")
    # Start every part, print where it is, then stop them all (used by tests/test_demo.py).
    exit_when_ready: bool = Field(default=False, alias="DEMO_EXIT_WHEN_READY")
    # The secret the bot (and `make chat`) sign turns with and Rasa's signed channel checks; unset, the demo
    # makes one in var/rasa-channel-secret.
    rasa_channel_secret: SecretStr | None = Field(default=None, alias="RASA_CHANNEL_SECRET")

    @property
    def channel_secret_file(self) -> Path:
        return self.var_dir / "rasa-channel-secret"

    def channel_secret(self) -> str | None:
        """The signed channel's secret, as the running demo has it: the environment's, else the demo's file."""
        if self.rasa_channel_secret is not None and self.rasa_channel_secret.get_secret_value():
            return self.rasa_channel_secret.get_secret_value()
        if self.channel_secret_file.is_file():
            return self.channel_secret_file.read_text(encoding="utf-8").strip() or None
        return None

    @property
    def rasa_url(self) -> str:
        return f"http://{_connectable(self.rasa_host)}:{self.rasa_port}"

    @property
    def web_chat_url(self) -> str:
        return f"http://{_connectable(self.bot_host)}:{self.bot_port}"

    @property
    def action_server_url(self) -> str:
        return f"http://{_connectable(self.action_server_host)}:{self.action_server_port}"


def _connectable(host: str) -> str:
    """The address a local client uses for a server bound to `host` (0.0.0.0 is not somewhere to connect)."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - comparing, not binding
