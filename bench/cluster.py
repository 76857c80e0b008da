"""`make cluster`: the production shape from local processes, as docker-compose.yml runs it with replicas.

Two of each: repairs services, action servers, Rasa servers (conversations in PostgreSQL, locks in Redis)
and bots (web chat, and Telegram by webhook against the local Bot API stand-in; each bot runs a delivery
worker, which claims outbox rows with FOR UPDATE SKIP LOCKED). HAProxy (Debian's package) balances each
kind and checks every replica's health; every call between parts goes through it, so a replica that dies
is taken out of the rotation and its callers reach the other. A part that exits is restarted with a
back-off (bench/supervised.py).

What is shared with other work on this machine is kept apart: the cluster's own PostgreSQL databases
(dropped and made afresh at each start), and its own Redis server on a port of its own (so a drill may
restart it without touching anybody else's). With `--own-services` (as `make drills` runs it) the cluster
also has a PostgreSQL server of its own (initdb in a temporary directory, on a free port) and a RabbitMQ
node of its own (Rasa's event broker, read by the repairs services' listening consumers), so a drill may
restart or stop them; the machine's shared servers are never touched.

    python -m bench.cluster            # prints the URLs; Ctrl-C or SIGTERM stops everything
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType

import sqlalchemy as sa

from bench.supervised import Part, Supervisor
from evaluation.rasa_process import RASA_BIN, RASA_PYTHON, ROOT, channel_env, rasa_env, train
from tests.telegram_standin import TelegramStandIn

KINDS = ("repairs", "actions", "rasa", "bot")
HEALTH = {"repairs": "/healthz", "actions": "/health", "rasa": "/", "bot": "/healthz"}


@dataclass(frozen=True)
class ClusterConfig:
    workdir: Path = ROOT / "var" / "cluster"
    pg_admin_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    repairs_db: str = "repairs_cluster"
    tracker_db: str = "rasa_tracker_cluster"
    replicas: int = 2
    models_dir: Path = ROOT / "models"
    # The bots' delivery workers: how often an idle worker looks for work, and how long a claimed row is
    # leased before another worker may take it (a worker killed mid-send is covered by the lease).
    delivery_lease_s: int = 20
    # PostgreSQL and RabbitMQ of the cluster's own (True), or the machine's PostgreSQL at pg_admin_url and no
    # event broker (False: `make cluster`'s default, which starts quicker).
    own_services: bool = False
    # How long a Rasa server's conversation lock lives in Redis (Rasa's TICKET_LOCK_LIFETIME, 60 s by default):
    # the longest a conversation waits on the lock of a replica killed mid-turn. 20 s, as docker-compose.yml:
    # shorter than the bot's wait for an answer (RASA_TIMEOUT_SECONDS, 30 s) by more than a turn takes, so the
    # turn that waits on a dead replica's lock is still answered (with 35 s the drills lost a web chat turn to
    # the bot's timeout). See docker-compose.yml for what a shorter lock risks and why that is rare.
    ticket_lock_lifetime_s: int = 20
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)  # per kind, for drills


@dataclass
class Cluster:
    config: ClusterConfig
    supervisor: Supervisor
    telegram: TelegramStandIn
    urls: dict[str, str]  # kind -> the load balancer's address for it
    database_url: str
    repairs_token: str
    rasa_token: str
    channel_secret: str
    redis_port: int
    haproxy_stats: str

    def replicas(self, kind: str) -> list[str]:
        return [name for name, part in self.supervisor.parts.items() if part.kind == kind]


_GIVEN_PORTS: set[int] = set()


def _port_range() -> tuple[int, int]:
    """CLUSTER_PORTS ("7600-7799"): where this run's parts listen, so runs side by side on one machine (several
    people's drills and cluster tests) keep to ranges of their own. 20000-32000 when unset."""
    low, _, high = os.environ.get("CLUSTER_PORTS", "20000-32000").partition("-")
    return int(low), int(high)


def listen_port() -> int:
    """A free port below Linux's ephemeral range (32768 and up), where no outgoing connection can take it
    between now and the part binding it: Rasa binds only once its model has loaded, half a minute later."""
    low, high = _port_range()
    if len(_GIVEN_PORTS & set(range(low, high + 1))) > high - low:
        raise RuntimeError(f"no port left in CLUSTER_PORTS {low}-{high}")
    while True:
        port = random.randint(low, high)
        if port in _GIVEN_PORTS:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN_PORTS.add(port)
        return port


def say(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- PostgreSQL and Redis ------------------------------------------------------------------------------

def _pg_admin(admin_url: str, statement: str) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def fresh_database(admin_url: str, name: str) -> str:
    _pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _postgres_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL's server is not installed (Debian: apt-get install postgresql)")
    return str(found[-1])


def postgres_part(datadir: Path, port: int, log_file: Path) -> Part:
    """A PostgreSQL server of the cluster's own, made with initdb in `datadir` (PostgreSQL will not run as root:
    it runs as the `postgres` user). Trust on loopback only, as the machine's test server. fsync off: the
    drills restart the server cleanly (a fast shutdown writes everything first), they never crash the machine."""
    datadir.mkdir(parents=True, exist_ok=True)
    shutil.chown(datadir, "postgres", "postgres")
    subprocess.run([_postgres_bin("initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                    "--no-sync"], user="postgres", check=True, capture_output=True, timeout=120)
    isready = _postgres_bin("pg_isready")

    def ready() -> bool:
        return subprocess.run([isready, "-h", "127.0.0.1", "-p", str(port), "-t", "2"], capture_output=True,
                              check=False, timeout=10).returncode == 0

    return Part("postgres", "postgres",
                [_postgres_bin("postgres"), "-D", str(datadir), "-p", str(port), "-k", str(datadir),
                 "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c", "fsync=off"],
                {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}, log_file, None,
                probe=ready, user="postgres")


def _amqp_answers(port: int) -> bool:
    """The broker answers the AMQP protocol header with its Connection.Start (a method frame, type 1)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            return sock.recv(1) == b"\x01"
    except OSError:
        return False


def rabbitmq_part(base: Path, port: int, dist_port: int, log_file: Path) -> Part:
    """A RabbitMQ node of the cluster's own: its own node name, ports, data and configuration (never the
    machine's /etc/rabbitmq, whose node and port are the shared broker's). Only the guest user, on loopback."""
    binary = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
    if not binary.exists():
        raise RuntimeError("RabbitMQ is not installed (Debian: apt-get install rabbitmq-server)")
    base.mkdir(parents=True, exist_ok=True)
    (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{port}\n"
                                        "management_agent.disable_metrics_collector = true\n", encoding="utf-8")
    (base / "enabled_plugins").write_text("[].\n", encoding="utf-8")
    (base / "rabbitmq-env.conf").write_text("", encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(base),
           "RABBITMQ_NODENAME": f"cluster{port}@localhost", "RABBITMQ_NODE_PORT": str(port),
           "RABBITMQ_DIST_PORT": str(dist_port), "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
           "RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(base / "log"),
           "RABBITMQ_LOGS": "-", "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
           "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
           "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"), "RABBITMQ_PID_FILE": str(base / "pid"),
           "ERL_EPMD_ADDRESS": "127.0.0.1"}
    return Part("rabbitmq", "rabbitmq", [str(binary)], env, log_file, None, probe=lambda: _amqp_answers(port),
                ready_timeout=180)


def redis_part(workdir: Path, port: int) -> Part:
    """A Redis server of the cluster's own (no snapshots: the lock store and the nonces are safe to lose)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    return Part("redis", "redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", str(workdir)],
                dict(os.environ), workdir / "log" / "redis.log", None)


# -- HAProxy -------------------------------------------------------------------------------------------

# The drills' one hook in the balancer: a call to a kind waits the milliseconds faults.map gives it (0: none),
# changed at run time through HAProxy's admin socket (`set map`), so "the repairs service answers slowly"
# needs nothing in the service itself.
FAULTS_LUA = """
core.register_action("fault_delay", {"http-req"}, function(txn)
    local ms = tonumber(txn:get_var("txn.fault_delay_ms")) or 0
    if ms > 0 then core.msleep(ms) end
end)
"""


# An action call the action server has not answered in this long is given up on and sent to the other
# action server, once. A hung replica (the drills SIGSTOP one) is otherwise waited on for Rasa's 5 minutes,
# far past the bot's 30 s wait for the turn; with this the turn is answered about ACTIONS_TIMEOUT_S late.
# Safe only because every create an action makes carries an idempotency key taken from the turn
# (actions/turn_keys.py): the hung replica may wake and finish the same call, and the service answers it
# with what the retry made. Our actions take well under a second, and a few seconds when the repairs service
# is slow; one slower than this is cut off and tried again (and, failing twice, answered with the signed
# channel's apology). docker/haproxy/haproxy.cfg says the same.
ACTIONS_TIMEOUT_S = 10
# Rasa's call to an action carries the session's events and the domain, and is kept whole in the balancer's
# buffer while it waits, or it could not be sent again (16 KB by default). Measured in the drills: the domain
# 11 KB, events about 3.9 KB a resident turn (74 KB after 19 turns), so 512 KB holds a session of over 100
# turns (a session ends after 60 idle minutes, domain.yml). A bigger call is not sent again: after the cut-off
# its turn gets the signed channel's apology.
BUFFER_BYTES = 512 * 1024


def haproxy_config(frontends: dict[str, int], backends: dict[str, list[tuple[str, int]]], stats_port: int,
                   workdir: Path) -> str:
    """One frontend and backend per kind. Health checked every second (down after 2 failures, up after 2
    successes). A connection refused or reset before any answer is retried on the other replica: the
    repairs service's creates carry idempotency keys, Rasa refuses a replayed signed turn, Telegram
    redelivers a webhook update that got no 200, and the action server's creates carry keys too. An action
    call is also retried when its server does not answer within ACTIONS_TIMEOUT_S (a hung replica)."""
    lines = [
        "global",
        "    maxconn 4096",
        f"    tune.bufsize {BUFFER_BYTES}",
        # Requests that end badly (a 5xx, a retry, no server) in the balancer's log, to tell its answers apart
        # from the replicas' own.
        "    log stdout format raw local0",
        f"    lua-load {workdir / 'faults.lua'}",
        f"    stats socket {workdir / 'haproxy.sock'} mode 600 level admin",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 120s",
        "    timeout server 120s",
        "    timeout http-request 10s",
        # A health check may take this long: a replica busy with a burst (Rasa's NLU runs on its event loop)
        # answers slowly but is not dead. Without it the check's whole time is `inter` (1 s), every busy Rasa
        # was taken out of the rotation at once, and the balancer answered 503 (the drills' 10x burst); a dead
        # replica still drops out at once, its port refusing the connection.
        "    timeout check 5s",
        "    log global",
        "    option httplog",
        "    option dontlog-normal",
        "    option redispatch 1",
        "    retries 3",
        "    retry-on conn-failure empty-response",
        "    option http-buffer-request",
        f"frontend stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /\n    stats refresh 2s",
    ]
    for kind, port in frontends.items():
        lines += [f"frontend {kind}_in", f"    bind 127.0.0.1:{port}", f"    default_backend {kind}"]
        lines += [f"backend {kind}", "    balance leastconn", f"    option httpchk GET {HEALTH[kind]}",
                  f"    http-request set-var(txn.fault_delay_ms) str({kind}),map({workdir / 'faults.map'},0)",
                  "    http-request lua.fault_delay",
                  "    http-check expect status 200",
                  "    default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 2"]
        if kind == "actions":
            lines += [f"    timeout server {ACTIONS_TIMEOUT_S}s", "    retries 1",
                      "    retry-on conn-failure empty-response response-timeout"]
        lines += [f"    server {name} 127.0.0.1:{p} check" for name, p in backends[kind]]
    return "\n".join(lines) + "\n"


# -- the stack -----------------------------------------------------------------------------------------

def _app_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REPAIRS_", "TELEGRAM_", "BOT_", "RASA_", "WEBCHAT_", "ACTION_"))}
    return env | {"PYTHONUNBUFFERED": "1"} | extra


def _prepare_repairs_database(env: dict[str, str]) -> None:
    for command in (["db", "upgrade"], ["seed-demo"]):
        result = subprocess.run([sys.executable, "-m", "repairs", *command], cwd=ROOT, env=env,
                                capture_output=True, text=True, check=False, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"`python -m repairs {' '.join(command)}` failed:\n{result.stderr[-2000:]}")


def _endpoints(actions_url: str, pg: sa.URL, tracker_db: str, redis_port: int, lock_prefix: str,
               rabbitmq_port: int | None = None, queue: str = "") -> str:
    """Rasa's endpoints, as endpoints.production.yml with this machine's addresses (the event broker only
    when the cluster has a RabbitMQ of its own)."""
    tracker = (f'tracker_store:\n  type: rasa_tracker.erasable.ErasableSQLTrackerStore\n  dialect: "postgresql"\n'
               f'  url: "{pg.host or "127.0.0.1"}"\n  port: {pg.port or 5432}\n  db: "{tracker_db}"\n'
               f'  username: "{pg.username or "postgres"}"\n')
    if pg.password:
        tracker += f'  password: "{pg.password}"\n'
    return (f'action_endpoint:\n  url: "{actions_url}/webhook"\n'
            "  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n"
            + tracker
            + f'lock_store:\n  type: redis\n  url: "127.0.0.1"\n  port: {redis_port}\n  db: 1\n'
              f'  key_prefix: "{lock_prefix}"\n'
            + (f'event_broker:\n  type: pika\n  url: "127.0.0.1"\n  port: {rabbitmq_port}\n  username: guest\n'
               f'  password: guest\n  queues:\n    - {queue}\n' if rabbitmq_port else ""))


@contextmanager
def running_cluster(cfg: ClusterConfig, supervisor: Supervisor | None = None) -> Iterator[Cluster]:
    workdir = cfg.workdir
    (workdir / "log").mkdir(parents=True, exist_ok=True)
    supervisor = supervisor or Supervisor(say)
    with ExitStack() as cleanup:
        cleanup.callback(supervisor.stop)
        say("Training (or finding) the assistant's model...")
        model = train(cfg.models_dir).path
        pg_admin_url = cfg.pg_admin_url
        rabbitmq_port: int | None = None
        if cfg.own_services:
            scratch = Path(tempfile.mkdtemp(prefix="cluster-services-"))
            # After every part has stopped (callbacks run last-registered first): stop, then remove.
            cleanup.callback(shutil.rmtree, scratch, ignore_errors=True)
            cleanup.callback(supervisor.stop)
            scratch.chmod(0o755)
            pg_port, rabbitmq_port = listen_port(), listen_port()
            say("Starting the cluster's own PostgreSQL and RabbitMQ...")
            supervisor.start(postgres_part(scratch / "postgres", pg_port, workdir / "log" / "postgres.log"),
                             rabbitmq_part(scratch / "rabbitmq", rabbitmq_port, listen_port(),
                                           workdir / "log" / "rabbitmq.log"))
            pg_admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{pg_port}/postgres"
        say("Making the cluster's databases...")
        database_url = fresh_database(pg_admin_url, cfg.repairs_db)
        fresh_database(pg_admin_url, cfg.tracker_db)
        queue = f"cluster_listening_{secrets.token_hex(4)}"
        repairs_token = "cluster-" + secrets.token_hex(16)
        rasa_token = secrets.token_hex(16)  # hex: a leading "-" would read as an option
        channel_secret = secrets.token_hex(32)
        action_token = secrets.token_hex(32)
        webchat_secret = secrets.token_hex(32)
        webhook_secret = secrets.token_urlsafe(24)
        repairs_env = _app_env({
            "REPAIRS_DATABASE_URL": database_url, "REPAIRS_API_TOKEN": repairs_token,
            "REPAIRS_SECRET_KEY": secrets.token_hex(32), "REPAIRS_PHOTO_DIR": str(workdir / "photos"),
            "REPAIRS_MIGRATE_ON_START": "false", "RASA_TOKEN": rasa_token,
        } | ({"REPAIRS_LISTENING_BROKER": "pika", "REPAIRS_LISTENING_QUEUE": queue,
              "REPAIRS_LISTENING_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{rabbitmq_port}/%2F"}
             if rabbitmq_port else {}) | cfg.extra_env.get("repairs", {}))
        _prepare_repairs_database(repairs_env)

        telegram = TelegramStandIn(flood_limit=30, strict_chats=False)
        telegram.start()
        cleanup.callback(telegram.stop)

        ports = {kind: listen_port() for kind in KINDS}
        stats_port = listen_port()
        urls = {kind: f"http://127.0.0.1:{port}" for kind, port in ports.items()}
        repairs_env["REPAIRS_RASA_URL"] = urls["rasa"]
        redis_port = listen_port()
        supervisor.start(redis_part(workdir, redis_port))
        supervisor.watch()

        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(_endpoints(urls["actions"], sa.make_url(pg_admin_url), cfg.tracker_db, redis_port,
                                        "cluster" + secrets.token_hex(4), rabbitmq_port, queue), encoding="utf-8")
        backends: dict[str, list[tuple[str, int]]] = {kind: [] for kind in KINDS}
        parts: list[Part] = []
        for n in range(1, cfg.replicas + 1):
            port = listen_port()
            backends["repairs"].append((f"repairs-{n}", port))
            parts.append(Part(f"repairs-{n}", "repairs",
                              [sys.executable, "-m", "repairs", "serve", "--host", "127.0.0.1", "--port", str(port)],
                              repairs_env, workdir / "log" / f"repairs-{n}.log",
                              f"http://127.0.0.1:{port}/healthz", cwd=ROOT))
            port = listen_port()
            backends["actions"].append((f"actions-{n}", port))
            parts.append(Part(f"actions-{n}", "actions", [str(RASA_PYTHON), "-m", "action_server"],
                              rasa_env() | {"REPAIRS_API_URL": urls["repairs"], "REPAIRS_API_TOKEN": repairs_token,
                                            "ACTION_SERVER_TOKEN": action_token, "ACTION_SERVER_HOST": "127.0.0.1",
                                            "ACTION_SERVER_PORT": str(port)} | cfg.extra_env.get("actions", {}),
                              workdir / "log" / f"actions-{n}.log", f"http://127.0.0.1:{port}/health", cwd=ROOT))
            port = listen_port()
            backends["rasa"].append((f"rasa-{n}", port))
            parts.append(Part(f"rasa-{n}", "rasa",
                              [str(RASA_BIN), "run", "--model", str(model), "--enable-api",
                               f"--auth-token={rasa_token}", "--interface", "127.0.0.1", "--port", str(port),
                               "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints)],
                              rasa_env() | {"ACTION_SERVER_TOKEN": action_token,
                                            "TICKET_LOCK_LIFETIME": str(cfg.ticket_lock_lifetime_s)}
                              | channel_env(channel_secret, f"redis://127.0.0.1:{redis_port}/2")
                              | cfg.extra_env.get("rasa", {}),
                              workdir / "log" / f"rasa-{n}.log", f"http://127.0.0.1:{port}/", cwd=ROOT,
                              ready_timeout=600))
            port = listen_port()
            backends["bot"].append((f"bot-{n}", port))
            parts.append(Part(f"bot-{n}", "bot", [sys.executable, "-m", "bot"], _app_env({
                "BOT_HOST": "127.0.0.1", "BOT_PORT": str(port), "RASA_URL": urls["rasa"], "RASA_TOKEN": rasa_token,
                "RASA_CHANNEL_SECRET": channel_secret, "REPAIRS_API_URL": urls["repairs"],
                "REPAIRS_API_TOKEN": repairs_token, "WEBCHAT_SECRET": webchat_secret,
                "BOT_REDIS_URL": f"redis://127.0.0.1:{redis_port}/3",
                "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_BASE_URL": telegram.base_url,
                "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_URL": f"{urls['bot']}/telegram/webhook",
                "TELEGRAM_WEBHOOK_SECRET": webhook_secret,
                "BOT_DELIVERY_LEASE_SECONDS": str(cfg.delivery_lease_s),
            } | cfg.extra_env.get("bot", {})), workdir / "log" / f"bot-{n}.log", f"http://127.0.0.1:{port}/healthz",
                cwd=ROOT))
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(haproxy).exists():
            raise RuntimeError("HAProxy is not installed (Debian: apt-get install haproxy)")
        haproxy_cfg = workdir / "haproxy.cfg"
        (workdir / "faults.lua").write_text(FAULTS_LUA, encoding="utf-8")
        (workdir / "faults.map").write_text("".join(f"{kind} 0\n" for kind in KINDS), encoding="utf-8")
        haproxy_cfg.write_text(haproxy_config(ports, backends, stats_port, workdir), encoding="utf-8")
        balancer = Part("haproxy", "haproxy", [haproxy, "-db", "-f", str(haproxy_cfg)], dict(os.environ),
                        workdir / "log" / "haproxy.log", f"http://127.0.0.1:{stats_port}/")
        # The balancer first, so every part reaches the others through it from its first call; the bots
        # last, since each registers the Telegram webhook and starts delivering as soon as it is up.
        supervisor.start(balancer)
        supervisor.start(*[p for p in parts if p.kind != "bot"])
        supervisor.start(*[p for p in parts if p.kind == "bot"])
        yield Cluster(cfg, supervisor, telegram, urls, database_url, repairs_token, rasa_token, channel_secret,
                      redis_port, f"http://127.0.0.1:{stats_port}/")


def wait_all_healthy(cluster: Cluster, timeout: float) -> float | None:
    """Seconds until every part answers its health check again (None: not within `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(part.healthy() for part in cluster.supervisor.parts.values()):
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=2, help="replicas of each kind (default 2)")
    parser.add_argument("--pg", default=os.environ.get("CLUSTER_PG_ADMIN_URL", ClusterConfig.pg_admin_url),
                        help="PostgreSQL to make the cluster's databases in")
    parser.add_argument("--own-services", action="store_true",
                        help="a PostgreSQL server and a RabbitMQ node of the cluster's own (as `make drills`)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    cfg = ClusterConfig(replicas=args.replicas, pg_admin_url=args.pg, own_services=args.own_services)
    try:
        with running_cluster(cfg) as cluster:
            print("\nThe cluster is up (Ctrl-C stops everything; logs in " f"{cfg.workdir / 'log'}):")
            for kind, url in cluster.urls.items():
                print(f"  {kind:<8} {url}   (HAProxy, over {', '.join(cluster.replicas(kind))})")
            print(f"  web chat {cluster.urls['bot']}/")
            print(f"  officers {cluster.urls['repairs']}/officer/login")
            print(f"  HAProxy  {cluster.haproxy_stats}   (statistics: each replica's health)")
            print(f"  Telegram {cluster.telegram.url}   (the Bot API stand-in; webhook {cluster.urls['bot']}"
                  "/telegram/webhook)", flush=True)
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        say("Stopping...")
    except RuntimeError as exc:
        say(f"The cluster failed to start: {exc}")
        return 1
    finally:
        say("Stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
