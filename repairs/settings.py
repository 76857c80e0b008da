"""One typed settings object, read from the environment (and an optional `.env` file).

Nothing else in the service reads `os.environ`: build a `Settings` at start-up and pass it in.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Storage. SQLite is the embedded default; production sets a PostgreSQL URL
    # such as postgresql+psycopg://repairs:...@db:5432/repairs
    database_url: str = Field(default=f"sqlite:///{PROJECT_ROOT / 'var' / 'repairs.db'}", alias="REPAIRS_DATABASE_URL")
    database_pool_size: int = Field(default=10, alias="REPAIRS_DATABASE_POOL_SIZE")
    photo_dir: Path = Field(default=PROJECT_ROOT / "var" / "photos", alias="REPAIRS_PHOTO_DIR")
    data_dir: Path = Field(default=PROJECT_ROOT / "data", alias="REPAIRS_DATA_DIR")

    # HTTP
    host: str = Field(default="127.0.0.1", alias="REPAIRS_HOST")
    port: int = Field(default=8000, alias="REPAIRS_PORT")
    # Worker processes for `serve`. On 2 cores, 3 measured best (one runs while another waits on the database).
    workers: int = Field(default=1, ge=1, le=64, alias="REPAIRS_WORKERS")
    public_base_url: str = Field(default="http://127.0.0.1:8000", alias="REPAIRS_PUBLIC_BASE_URL")

    # The service token the bot and the action server send as `Authorization: Bearer ...`.
    api_token: SecretStr | None = Field(default=None, alias="REPAIRS_API_TOKEN")
    # Demo mode: migrate on start, make a token when none is set, allow seeding.
    demo_mode: bool = Field(default=False, alias="REPAIRS_DEMO_MODE")
    migrate_on_start: bool = Field(default=False, alias="REPAIRS_MIGRATE_ON_START")

    # Secret for signing officer session cookies and CSRF tokens.
    secret_key: SecretStr | None = Field(default=None, alias="REPAIRS_SECRET_KEY")
    officer_token_ttl_hours: int = Field(default=12, alias="REPAIRS_OFFICER_TOKEN_TTL_HOURS")
    # The officer workspace's cookie session: a working day, then sign in again.
    workspace_session_hours: float = Field(default=10, gt=0, le=24 * 7, alias="REPAIRS_WORKSPACE_SESSION_HOURS")
    # ...and it ends sooner when no page has been opened or form sent for this long (a background poll, such
    # as the emergency banner's, does not count). Whichever comes first.
    workspace_idle_minutes: int = Field(default=30, ge=1, le=24 * 60, alias="REPAIRS_WORKSPACE_IDLE_MINUTES")
    # How often an open workspace page asks whether a new emergency needs acknowledging (its banner).
    workspace_banner_seconds: float = Field(default=20, ge=1, le=600, alias="REPAIRS_WORKSPACE_BANNER_SECONDS")
    # Mark workspace cookies Secure. Unset: on when REPAIRS_PUBLIC_BASE_URL is https (behind a TLS proxy).
    secure_cookies: bool | None = Field(default=None, alias="REPAIRS_SECURE_COOKIES")

    # Abuse limits
    # Failed identity checks (tenancy reference and postcode) per chat and per tenancy reference...
    verify_max_failures: int = Field(default=5, alias="REPAIRS_VERIFY_MAX_FAILURES")
    verify_window_minutes: int = Field(default=15, alias="REPAIRS_VERIFY_WINDOW_MINUTES")
    # ...per client (a web chat's address, which fresh sessions do not escape; a Telegram chat)...
    verify_client_max_failures: int = Field(default=10, ge=1, le=10_000, alias="REPAIRS_VERIFY_CLIENT_MAX_FAILURES")
    verify_client_window_minutes: int = Field(
        default=60, ge=1, le=24 * 60, alias="REPAIRS_VERIFY_CLIENT_WINDOW_MINUTES"
    )
    # ...and per postcode, against one estate's postcode tried with many references. Generous, because many
    # households share a postcode and a resident's typing mistakes count too; past it the postcode's
    # residents wait as well, so do not set it low.
    verify_postcode_max_failures: int = Field(
        default=20, ge=1, le=10_000, alias="REPAIRS_VERIFY_POSTCODE_MAX_FAILURES"
    )
    verify_postcode_window_minutes: int = Field(
        default=60, ge=1, le=24 * 60, alias="REPAIRS_VERIFY_POSTCODE_WINDOW_MINUTES"
    )
    # Officer sign-ins (workspace and API) that fail from one client address, across all accounts, before
    # that address must wait (429) until the oldest of them is this many minutes old. Generous: a council
    # office's officers may all reach the service from one address. Successful sign-ins do not count.
    signin_address_max_failures: int = Field(default=20, ge=1, le=10_000, alias="REPAIRS_SIGNIN_ADDRESS_MAX_FAILURES")
    signin_address_window_minutes: int = Field(
        default=15, ge=1, le=24 * 60, alias="REPAIRS_SIGNIN_ADDRESS_WINDOW_MINUTES"
    )
    max_photo_bytes: int = Field(default=10 * 1024 * 1024, alias="REPAIRS_MAX_PHOTO_BYTES")
    max_json_body_bytes: int = Field(default=256 * 1024, alias="REPAIRS_MAX_JSON_BODY_BYTES")

    # Council contact details the assistant and pages quote.
    council_name: str = Field(default="Camden Council", alias="REPAIRS_COUNCIL_NAME")
    repairs_phone: str = Field(default="020 7974 4444", alias="REPAIRS_PHONE")
    out_of_hours_phone: str = Field(default="020 7974 4444", alias="REPAIRS_OUT_OF_HOURS_PHONE")
    opening_hours: str = Field(default="Monday to Friday, 8am to 6pm", alias="REPAIRS_OPENING_HOURS")

    # The Rasa server's HTTP API, used by the triage endpoint.
    rasa_url: str = Field(default="http://127.0.0.1:5005", alias="REPAIRS_RASA_URL")
    rasa_token: SecretStr | None = Field(default=None, alias="RASA_TOKEN")
    rasa_timeout_seconds: float = Field(default=5.0, alias="REPAIRS_RASA_TIMEOUT_SECONDS")

    # Outbox delivery: the wait before each retry of a message that failed for a passing reason
    # (a JSON list in the environment). One attempt plus one per delay, then it is failed for officers.
    outbox_retry_delays_seconds: tuple[float, ...] = Field(
        default=(5, 30, 120, 600, 3600), min_length=0, max_length=20, alias="REPAIRS_OUTBOX_RETRY_DELAYS"
    )
    # A message nobody collected within this time is failed for officers to see ("expired_unread"): in
    # practice a web chat update whose resident has not opened the page since (Telegram's retries end
    # within about 75 minutes). Checked every `outbox_sweep_seconds` by each replica (0: never).
    outbox_expire_hours: float = Field(default=168, gt=0, alias="REPAIRS_OUTBOX_EXPIRE_HOURS")
    outbox_sweep_seconds: float = Field(default=300, ge=0, alias="REPAIRS_OUTBOX_SWEEP_SECONDS")

    # The officers' Telegram group (its chat id, e.g. -1001234567890): a new emergency ticket is posted
    # there with "Acknowledge" and "Assign to me" buttons. Unset: no Telegram alert (the workspace banner
    # still shows it).
    officer_alert_chat: str | None = Field(default=None, pattern=r"^-?[0-9]{1,20}$", alias="REPAIRS_OFFICER_ALERT_CHAT")
    # The bot's Telegram username (without @): the workspace then offers a t.me link that opens the chat with
    # the officer's one-time link code filled in. Unset: the workspace says to send /link CODE to the bot.
    telegram_bot_username: str | None = Field(
        default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$", alias="REPAIRS_TELEGRAM_BOT_USERNAME"
    )
    # Wrong link codes one Telegram account may send within the window before it must wait.
    telegram_link_max_failures: int = Field(default=5, ge=1, le=1000, alias="REPAIRS_TELEGRAM_LINK_MAX_FAILURES")
    telegram_link_window_minutes: int = Field(
        default=15, ge=1, le=24 * 60, alias="REPAIRS_TELEGRAM_LINK_WINDOW_MINUTES"
    )

    # A chat idle this long starts a new conversation with its next message, for the assistant's counts in
    # the reports (repairs/usage/conversations.py). Keep it equal to Rasa's session expiry (domain.yml
    # session_config.session_expiration_time), so a "conversation" is what the assistant calls a session.
    conversation_idle_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60, alias="REPAIRS_CONVERSATION_IDLE_MINUTES")

    # Personal data (repairs/personal_data, data/retention.yml). Days per kind of record over the file's, as
    # JSON: '{"photos": 365}'. A kind not in the file is refused at start-up.
    retention_days: dict[str, int] = Field(default_factory=dict, alias="REPAIRS_RETENTION_DAYS")
    # Each replica asks this often whether a retention run is due; one run per `every` hours, whichever replica
    # takes the lease (0: the service never runs it; `python -m repairs retention run` still does).
    retention_check_seconds: float = Field(default=3600, ge=0, alias="REPAIRS_RETENTION_CHECK_SECONDS")
    retention_every_hours: float = Field(default=24, gt=0, alias="REPAIRS_RETENTION_EVERY_HOURS")
    # Rasa's tracker store as a SQLAlchemy URL (the database endpoints*.yml names), for subject access exports,
    # erasure and the conversations' retention. Unset: those leave the conversations alone and say so.
    tracker_database_url: str | None = Field(default=None, alias="REPAIRS_TRACKER_DATABASE_URL")

    # Listening (repairs/listening/): where the assistant's conversation events arrive from Rasa's event broker.
    # "pika": a RabbitMQ queue (production, docker-compose); "sql": the table Rasa's SQL broker writes (make
    # demo), read and emptied; "off": nothing is consumed.
    listening_broker: Literal["off", "pika", "sql"] = Field(default="off", alias="REPAIRS_LISTENING_BROKER")
    listening_amqp_url: SecretStr = Field(
        default=SecretStr("amqp://guest:guest@127.0.0.1:5672/%2F"), alias="REPAIRS_LISTENING_AMQP_URL"
    )
    listening_queue: str = Field(default="repairs_listening", min_length=1, max_length=200,
                                 alias="REPAIRS_LISTENING_QUEUE")
    listening_sql_url: str | None = Field(default=None, alias="REPAIRS_LISTENING_SQL_URL")
    # How often the SQL broker's table is read, and how long a consumer waits before reconnecting.
    listening_poll_seconds: float = Field(default=2, gt=0, le=600, alias="REPAIRS_LISTENING_POLL_SECONDS")
    # What residents said is kept this long. Unset: data/retention.yml's `listening_utterances` (90). Set, it
    # overrides the file like REPAIRS_RETENTION_DAYS does; the daily retention run deletes what is due.
    listening_retention_days: int | None = Field(default=None, ge=1, le=3650,
                                                 alias="REPAIRS_LISTENING_RETENTION_DAYS")
    # Retired: listening had its own hourly deletion job; the retention run does it now. Refused when set,
    # so a deployment that tuned it learns where the setting went rather than being silently ignored.
    listening_purge_seconds: str | None = Field(default=None, alias="REPAIRS_LISTENING_PURGE_SECONDS")
    # Themes are recomputed in the background at most this often, when something new was said (0: never;
    # `make demo` sets 60 so a demo shows what was just said).
    listening_themes_seconds: float = Field(default=300, ge=0, alias="REPAIRS_LISTENING_THEMES_SECONDS")

    log_level: str = Field(default="INFO", alias="REPAIRS_LOG_LEVEL")

    @field_validator("retention_days")
    @classmethod
    def _days_not_negative(cls, value: dict[str, int]) -> dict[str, int]:
        wrong = sorted(name for name, days in value.items() if days < 0)
        if wrong:
            raise ValueError(f"retention days cannot be negative: {', '.join(wrong)}")
        return value

    @field_validator("listening_purge_seconds")
    @classmethod
    def _purge_retired(cls, value: str | None) -> None:
        if value is not None and value.strip():
            raise ValueError("REPAIRS_LISTENING_PURGE_SECONDS is retired: what residents said is deleted by the "
                             "daily retention run (REPAIRS_RETENTION_EVERY_HOURS, data/retention.yml "
                             "listening_utterances); unset it")
        return None

    @field_validator("officer_alert_chat", "secure_cookies", "telegram_bot_username", "tracker_database_url",
                     "listening_retention_days", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.public_base_url.lower().startswith("https://")

    @property
    def conversation_idle(self) -> timedelta:
        return timedelta(minutes=self.conversation_idle_minutes)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
