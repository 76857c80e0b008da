"""`make demo`: the whole product on one machine with embedded defaults (SQLite, demo data).

Four processes: the repairs service (8000), the action server (5055), the Rasa server (5005) and the bot
(8081: the web chat, and Telegram when TELEGRAM_BOT_TOKEN is set), each on 127.0.0.1 unless configured
otherwise. The Rasa model is retrained first when the training data changed.

Each secret is the environment's when set, else made once under var/ (mode 600) and kept, and each process
gets only the ones it uses: the bot and Rasa share the signed channel's secret (RASA_CHANNEL_SECRET), Rasa
and the action server the action token (ACTION_SERVER_TOKEN).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from repairs_common import turn_signing

from repairs.auth.secrets import read_or_create_secret
from repairs.demo.config import DemoSettings
from repairs.settings import PROJECT_ROOT, Settings

# Only the assistant's processes are given these; the repairs service never sees them.
ASSISTANT_SECRETS = ("RASA_CHANNEL_SECRET", "ACTION_SERVER_TOKEN")
DEMO_SUPERVISOR = "supervisor@demo.invalid"


def prepare_database(settings: Settings, var: Path) -> None:
    from sqlalchemy import func, select, update

    from repairs.auth.models import Officer, Role
    from repairs.auth.officers import create_officer
    from repairs.context import build_context
    from repairs.database import transaction
    from repairs.demo.seed import seed_demo
    from repairs.migrate import upgrade
    from repairs.residents.models import Property

    upgrade(settings.database_url)
    ctx = build_context(settings)
    with transaction(ctx.sessions) as session:
        if not session.scalar(select(func.count()).select_from(Property)):
            print(seed_demo(session, ctx.policy))
        if not session.scalar(select(func.count()).select_from(Officer)):
            create_officer(
                session,
                email=DEMO_SUPERVISOR,
                name="Demo Supervisor",
                password=read_or_create_secret(var / "demo-officer-password", 24),
                role=Role.SUPERVISOR,
                insight=True,  # the demo shows the listening page
                data_protection=True,  # ...and residents' subject access exports and erasure
            )
        else:
            # A demo database from before the permission existed (migration 0021 gives it to no one).
            session.execute(update(Officer).where(Officer.email == DEMO_SUPERVISOR).values(data_protection=True))
    ctx.engine.dispose()


def train_model(models_dir: Path) -> Path:
    """The trained model for the current training data, training it first when that data changed."""
    from evaluation.rasa_process import RASA_BIN, train, training_fingerprint

    if not RASA_BIN.exists():
        raise RuntimeError(f"Rasa is not installed at {RASA_BIN}: run `make rasa-env` (or `make demo`)")
    # train() names models by this fingerprint; checking first lets us say why the start is slow.
    if (models_dir / f"assistant-{training_fingerprint()}.tar.gz").exists():
        print("Assistant model is up to date.", flush=True)
    else:
        print("Training the assistant's model (the training data changed; about a minute)...", flush=True)
    started = time.monotonic()
    trained = train(models_dir)
    if trained.seconds is not None:
        print(f"  trained in {trained.seconds:.0f}s", flush=True)
    elif time.monotonic() - started > 1:
        print("  another process trained it meanwhile", flush=True)
    return trained.path


def listening_events_file(demo: DemoSettings) -> Path:
    """Where Rasa's SQL event broker writes conversation events for the repairs service to read (and delete)."""
    return demo.var_dir / "rasa-events.db"


def write_endpoints(demo: DemoSettings) -> Path:
    """Rasa's endpoints file for this run: the repository's endpoints.yml, pointed at this run's action
    server and with the conversation store in this run's var/ directory."""
    import yaml

    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    # The token stays a ${...} reference that Rasa fills from its environment: this file holds no secret.
    endpoints["action_endpoint"] = {**endpoints.get("action_endpoint", {}), "url": f"{demo.action_server_url}/webhook"}
    tracker = endpoints.get("tracker_store") or {}
    if tracker.get("dialect") == "sqlite":
        tracker["db"] = str(demo.var_dir / "rasa-tracker.db")
    # Conversation events for the listening page: Rasa's SQL broker writes them to a table the repairs
    # service reads and empties (REPAIRS_LISTENING_BROKER=sql), so the demo needs no RabbitMQ. Only here,
    # not in endpoints.yml, which tools and tests run Rasa with.
    endpoints.setdefault("event_broker", {"type": "SQL", "dialect": "sqlite", "db": str(listening_events_file(demo))})
    path = demo.var_dir / "endpoints.yml"
    path.write_text("# Written by `make demo` at each start from endpoints.yml; edits here are lost.\n"
                    + yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


def telegram_configured(channel_secret: str) -> bool:
    """Whether the bot will start Telegram: a token in the environment or in .env, as the bot reads it (with
    the channel secret the demo gives it, which this process's environment does not hold)."""
    from bot.settings import BotSettings

    try:
        return BotSettings(RASA_CHANNEL_SECRET=channel_secret).telegram_enabled
    except ValueError:  # settings the bot will refuse too; its log says why
        return True


def main() -> int:
    from evaluation.rasa_process import RASA_BIN, RASA_PYTHON, channel_env, rasa_env
    from repairs.demo.supervisor import Interrupted, Part, Supervisor, answers

    demo = DemoSettings()
    var = demo.var_dir
    (var / "log").mkdir(parents=True, exist_ok=True)
    rasa_token = os.environ.get("RASA_TOKEN") or read_or_create_secret(var / "rasa-token", 24)
    repairs_token = os.environ.get("REPAIRS_API_TOKEN") or read_or_create_secret(var / "repairs-api-token", 24)
    channel_secret = demo.channel_secret() or read_or_create_secret(demo.channel_secret_file, 32)
    action_token = os.environ.get("ACTION_SERVER_TOKEN") or read_or_create_secret(var / "action-server-token", 32)
    try:
        turn_signing.check_secret(channel_secret)
        turn_signing.check_secret(action_token)
    except ValueError as exc:
        print(f"Demo failed to start: RASA_CHANNEL_SECRET and ACTION_SERVER_TOKEN: {exc}", file=sys.stderr)
        return 1
    for name in ASSISTANT_SECRETS:
        os.environ.pop(name, None)
    os.environ.update({
        "REPAIRS_DATABASE_URL": os.environ.get("REPAIRS_DATABASE_URL", f"sqlite:///{var / 'repairs.db'}"),
        "REPAIRS_API_TOKEN": repairs_token,
        "REPAIRS_SECRET_KEY": os.environ.get("REPAIRS_SECRET_KEY") or read_or_create_secret(var / "secret-key", 24),
        "REPAIRS_PHOTO_DIR": os.environ.get("REPAIRS_PHOTO_DIR", str(var / "photos")),
        # The triage endpoint asks this Rasa server, with its token.
        "REPAIRS_RASA_URL": demo.rasa_url,
        # Listening: the repairs service reads what Rasa's SQL broker writes (one command, no RabbitMQ).
        "REPAIRS_LISTENING_BROKER": os.environ.get("REPAIRS_LISTENING_BROKER", "sql"),
        "REPAIRS_LISTENING_SQL_URL": os.environ.get("REPAIRS_LISTENING_SQL_URL",
                                                    f"sqlite:///{listening_events_file(demo)}"),
        "REPAIRS_LISTENING_THEMES_SECONDS": os.environ.get("REPAIRS_LISTENING_THEMES_SECONDS", "60"),
        "RASA_TOKEN": rasa_token,
        # Rasa's conversations, for subject access exports, erasure and their retention (data/retention.yml).
        "REPAIRS_TRACKER_DATABASE_URL": os.environ.get("REPAIRS_TRACKER_DATABASE_URL")
        or f"sqlite:///{var / 'rasa-tracker.db'}",
    })
    settings = Settings()
    repairs_url = f"http://{settings.host}:{settings.port}"

    supervisor = Supervisor()
    supervisor.install_signal_handlers()
    try:
        with supervisor.interruptible():
            print("Preparing the demo database...", flush=True)
            prepare_database(settings, var)
            model = train_model(demo.models_dir)
        endpoints = write_endpoints(demo)

        # Rasa and the action server get only what they need: no REPAIRS_* secrets for Rasa.
        actions_env = {**rasa_env(), "ACTION_SERVER_HOST": demo.action_server_host,
                       "ACTION_SERVER_PORT": str(demo.action_server_port), "ACTION_SERVER_TOKEN": action_token,
                       "REPAIRS_API_URL": repairs_url, "REPAIRS_API_TOKEN": repairs_token,
                       # The number the actions give when the service fails: the service's own (.env read).
                       "REPAIRS_PHONE": settings.repairs_phone}
        # Used turns are remembered beside the conversations, in the tracker's SQLite file: no Redis needed.
        replay_store = os.environ.get("RASA_CHANNEL_REPLAY_STORE") or f"sqlite:///{var / 'rasa-tracker.db'}"
        rasa_server_env = {**rasa_env(), "ACTION_SERVER_TOKEN": action_token,
                           **channel_env(channel_secret, replay_store)}
        # The bot: Telegram's settings come from the environment (or .env); of the service's secrets,
        # only its API token.
        bot_env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
        bot_env.update({"REPAIRS_API_URL": repairs_url, "REPAIRS_API_TOKEN": repairs_token,
                        "RASA_URL": demo.rasa_url, "RASA_TOKEN": rasa_token, "RASA_CHANNEL_SECRET": channel_secret,
                        "BOT_HOST": demo.bot_host, "BOT_PORT": str(demo.bot_port),
                        "WEBCHAT_SECRET_FILE": os.environ.get("WEBCHAT_SECRET_FILE", str(var / "webchat-secret"))})
        telegram = "Telegram on" if telegram_configured(channel_secret) else "Telegram off: no TELEGRAM_BOT_TOKEN"
        parts = [
            Part(
                name="repairs service",
                command=[sys.executable, "-m", "repairs", "serve"],
                ready=answers(f"{repairs_url}/healthz"),
                show_url=f"{repairs_url}/docs  (API docs; officers at {repairs_url}/officer/login)",
                log_file=var / "log" / "repairs.log",
            ),
            Part(
                name="action server",
                command=[str(RASA_PYTHON), "-m", "action_server"],
                ready=answers(f"{demo.action_server_url}/health"),
                show_url=f"{demo.action_server_url}/health",
                env=actions_env,
                cwd=PROJECT_ROOT,
                log_file=var / "log" / "actions.log",
            ),
            Part(
                name="Rasa server",
                # --auth-token=...: a token may start with "-", which Rasa's parser would read as an option.
                command=[str(RASA_BIN), "run", "--model", str(model), "--enable-api", f"--auth-token={rasa_token}",
                         "--interface", demo.rasa_host, "--port", str(demo.rasa_port),
                         "--credentials", str(PROJECT_ROOT / "credentials.yml"), "--endpoints", str(endpoints)],
                ready=answers(f"{demo.rasa_url}/status", params={"token": rasa_token},
                              accept=lambda r: bool(r.json().get("model_file"))),
                show_url=f"{demo.rasa_url}{turn_signing.WEBHOOK_PATH}  (signed channel; HTTP API needs the token)",
                env=rasa_server_env,
                cwd=PROJECT_ROOT,
                ready_timeout=demo.rasa_ready_timeout_seconds,
                log_file=var / "log" / "rasa.log",
            ),
            Part(
                name="bot",
                command=[sys.executable, "-m", "bot"],
                ready=answers(f"{demo.web_chat_url}/healthz"),
                show_url=f"{demo.web_chat_url}/  (web chat; {telegram})",
                env=bot_env,
                cwd=PROJECT_ROOT,
                log_file=var / "log" / "bot.log",
            ),
        ]
        print("Starting the housing repairs assistant (Ctrl-C stops everything; logs in "
              f"{var / 'log'}):", flush=True)
        supervisor.start(*parts)
        print(f"\nWeb chat:                  {demo.web_chat_url}/  (try the demo tenancy T-100001, postcode NW1 8YL)")
        print("Chat in this terminal:     make chat")
        print(f"Officer sign-in:           supervisor@demo.invalid, password in {var / 'demo-officer-password'}")
        print(f"Service token for the API: in {var / 'repairs-api-token'}")
        print(f"Rasa HTTP API token:       in {var / 'rasa-token'}")
        print("Signed channel secret:     " + ("RASA_CHANNEL_SECRET, from the environment" if demo.rasa_channel_secret
                                                else f"in {demo.channel_secret_file}")
              + "  (the bot and `make chat` sign messages to Rasa with it)")
        print("Ready. Ctrl-C stops everything.", flush=True)
        if demo.exit_when_ready:
            return 0
        return supervisor.wait()
    except Interrupted:
        return 0
    except RuntimeError as exc:
        print(f"Demo failed to start: {exc}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop()
        print("Stopped.", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
