"""The whole assistant for the benchmark: repairs service, action server and Rasa, each a real process,
Rasa taking turns through its signed channel and calling the action server with its token, as in production.

Two ways to store things:
- `production`: the repairs service on PostgreSQL, Rasa's tracker store in PostgreSQL and its lock store
  in Redis, as endpoints.production.yml, and the signed channel's used nonces in Redis, as compose keeps
  them; with a Redis lock store Rasa may run several Sanic workers.
- `local`: what `make demo` runs: the repairs service on SQLite, Rasa's tracker store in SQLite (the
  channel's nonces in the same file), Rasa's default in-memory lock store (so one Sanic worker only).

Every database here is the benchmark's own (dropped and re-created), and the Redis locks carry a key
prefix of their own, so other people's work on the same servers is never touched.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

from evaluation.rasa_process import (
    RASA_BIN,
    RASA_PYTHON,
    ROOT,
    channel_env,
    free_port,
    managed_process,
    rasa_env,
    wait_until_ready,
)

REPAIRS_DB = "repairs_assistant_bench"
TRACKER_DB = "rasa_tracker_assistant_bench"
STORES = ("production", "local")


@dataclass(frozen=True)
class StackConfig:
    stores: str  # one of STORES
    workdir: Path
    pg_admin_url: str
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 1
    repairs_workers: int = 1
    action_workers: int = 1
    rasa_workers: int = 1
    rasa_env: tuple[tuple[str, str], ...] = ()  # extra environment for Rasa, for experiments
    actions_env: tuple[tuple[str, str], ...] = ()  # and for the action server
    # The benchmark's own databases, dropped and re-created: each benchmark has its own names, so two
    # benchmarks run at once never drop each other's.
    repairs_db: str = REPAIRS_DB
    tracker_db: str = TRACKER_DB


@dataclass
class Part:
    name: str
    process: subprocess.Popen[bytes]
    startup_seconds: float
    log: Path


@dataclass
class RunningStack:
    config: StackConfig
    rasa_url: str
    rasa_token: str
    repairs_url: str
    repairs_token: str
    database_url: str
    tracker: str  # how Rasa stores conversations, in words
    lock_store: str
    channel_secret: str  # what the bot signs turns with (RASA_CHANNEL_SECRET)
    parts: dict[str, Part] = field(default_factory=dict)


def _pg_admin(admin_url: str, statement: str) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _fresh_pg_database(admin_url: str, name: str) -> sa.URL:
    _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    return sa.make_url(admin_url).set(database=name)


def _drop_pg_database(admin_url: str, name: str) -> None:
    _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _redis_ping(host: str, port: int) -> None:
    import redis

    client = redis.Redis(host=host, port=port, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def _endpoints(cfg: StackConfig, actions_port: int, lock_prefix: str) -> tuple[str, str, str]:
    """Rasa's endpoints file for these stores, and the tracker and lock store in words."""
    action = (f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
              "  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n")
    if cfg.stores == "local":
        tracker_db = cfg.workdir / "rasa-tracker.db"
        return (action + f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{tracker_db}"\n',
                "SQL (SQLite file)", "in-memory (Rasa's default)")
    url = sa.make_url(cfg.pg_admin_url)
    tracker = (f'tracker_store:\n  type: SQL\n  dialect: "postgresql"\n  url: "{url.host or "127.0.0.1"}"\n'
               f'  port: {url.port or 5432}\n  db: "{cfg.tracker_db}"\n  username: "{url.username or "postgres"}"\n')
    if url.password:
        tracker += f'  password: "{url.password}"\n'
    lock = (f'lock_store:\n  type: redis\n  url: "{cfg.redis_host}"\n  port: {cfg.redis_port}\n'
            f'  db: {cfg.redis_db}\n  key_prefix: "{lock_prefix}"\n')
    return action + tracker + lock, "SQL (PostgreSQL)", "Redis"


def _answers(url: str, **params: str) -> bool:
    return httpx.get(url, params=params, timeout=2).status_code == 200


def _prepare_repairs_database(env: dict[str, str]) -> None:
    for command in (["db", "upgrade"], ["seed-demo"]):
        result = subprocess.run([sys.executable, "-m", "repairs", *command], cwd=ROOT, env=env,
                                capture_output=True, text=True, check=False, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"`python -m repairs {' '.join(command)}` failed:\n{result.stderr[-2000:]}")


@contextmanager
def assistant_stack(cfg: StackConfig, model: Path) -> Iterator[RunningStack]:
    """Start the three processes (repairs service, action server, Rasa) and stop them afterwards.

    Rasa's start-up time is measured from its process start to `/status` naming the loaded model."""
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    token = "bench-" + secrets.token_hex(16)
    repairs_port, actions_port, rasa_port = free_port(), free_port(), free_port()
    lock_prefix = "assistantbench" + secrets.token_hex(4)
    production = cfg.stores == "production"
    with ExitStack() as cleanup:
        if production:
            _redis_ping(cfg.redis_host, cfg.redis_port)
            database_url = _fresh_pg_database(cfg.pg_admin_url, cfg.repairs_db).render_as_string(hide_password=False)
            cleanup.callback(_drop_pg_database, cfg.pg_admin_url, cfg.repairs_db)
            _fresh_pg_database(cfg.pg_admin_url, cfg.tracker_db)
            cleanup.callback(_drop_pg_database, cfg.pg_admin_url, cfg.tracker_db)
        else:
            for stale in [*cfg.workdir.glob("repairs.db*"), *cfg.workdir.glob("rasa-tracker.db*")]:
                stale.unlink()
            database_url = f"sqlite:///{cfg.workdir / 'repairs.db'}"
        app_env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
        app_env.update({"REPAIRS_DATABASE_URL": database_url, "REPAIRS_API_TOKEN": token,
                        "REPAIRS_SECRET_KEY": secrets.token_hex(32),
                        "REPAIRS_PHOTO_DIR": str(cfg.workdir / "photos"), "REPAIRS_MIGRATE_ON_START": "false",
                        "PYTHONUNBUFFERED": "1"})
        _prepare_repairs_database(app_env)
        endpoints_text, tracker, lock_store = _endpoints(cfg, actions_port, lock_prefix)
        endpoints = cfg.workdir / "endpoints.yml"
        endpoints.write_text(endpoints_text)

        parts: dict[str, Part] = {}

        def start(name: str, command: list[str], env: dict[str, str], ready_url: str, timeout: float,
                  **params: str) -> None:
            log = cfg.workdir / f"{name.replace(' ', '-')}.log"
            started = time.monotonic()
            process = cleanup.enter_context(managed_process(command, env, log))
            wait_until_ready(process, lambda: _answers(ready_url, **params), name, timeout)
            parts[name] = Part(name, process, time.monotonic() - started, log)

        start("repairs service", [sys.executable, "-m", "repairs", "serve", "--host", "127.0.0.1",
                                  "--port", str(repairs_port), "--workers", str(cfg.repairs_workers)],
              app_env, f"http://127.0.0.1:{repairs_port}/healthz", 120)
        action_token = secrets.token_hex(32)
        actions_env = rasa_env() | {"REPAIRS_API_URL": f"http://127.0.0.1:{repairs_port}",
                                    "REPAIRS_API_TOKEN": token, "ACTION_SERVER_TOKEN": action_token,
                                    "ACTION_SERVER_PORT": str(actions_port),
                                    "ACTION_SERVER_SANIC_WORKERS": str(cfg.action_workers)} | dict(cfg.actions_env)
        start("action server", [str(RASA_PYTHON), "-m", "action_server"],
              actions_env, f"http://127.0.0.1:{actions_port}/health", 120)

        rasa_token = secrets.token_hex(16)  # hex: a leading "-" would read as an option
        rasa_url = f"http://127.0.0.1:{rasa_port}"
        rasa_command = [str(RASA_BIN), "run", "--model", str(model), "--enable-api", f"--auth-token={rasa_token}",
                        "--interface", "127.0.0.1", "--port", str(rasa_port),
                        "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints)]
        log = cfg.workdir / "rasa.log"
        started = time.monotonic()
        channel_secret = secrets.token_hex(32)
        replay_store = (f"redis://{cfg.redis_host}:{cfg.redis_port}/{cfg.redis_db + 1}" if production
                        else f"sqlite:///{cfg.workdir / 'rasa-tracker.db'}")
        rasa_env_vars = (rasa_env() | {"SANIC_WORKERS": str(cfg.rasa_workers), "ACTION_SERVER_TOKEN": action_token}
                         | channel_env(channel_secret, replay_store) | dict(cfg.rasa_env))
        rasa = cleanup.enter_context(managed_process(rasa_command, rasa_env_vars, log))

        def model_loaded() -> bool:
            status = httpx.get(f"{rasa_url}/status", params={"token": rasa_token}, timeout=2)
            return status.status_code == 200 and bool(status.json().get("model_file"))

        wait_until_ready(rasa, model_loaded, "Rasa", 300)
        parts["Rasa"] = Part("Rasa", rasa, time.monotonic() - started, log)
        yield RunningStack(config=cfg, rasa_url=rasa_url, rasa_token=rasa_token,
                           repairs_url=f"http://127.0.0.1:{repairs_port}", repairs_token=token,
                           database_url=database_url, tracker=tracker, lock_store=lock_store,
                           channel_secret=channel_secret, parts=parts)


def tenants(database_url: str) -> list[tuple[str, str]]:
    """(tenancy reference, postcode) of every tenant in the demo estate: who the benchmark chats as."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT t.reference, p.postcode FROM tenancies t JOIN properties p ON p.id = t.property_id "
                "WHERE t.tenure = 'TENANT' OR t.tenure = 'tenant' ORDER BY t.reference"
            )).all()
    finally:
        engine.dispose()
    return [(str(r[0]), str(r[1])) for r in rows]
