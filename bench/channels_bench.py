"""Channel benchmark (`make bench-channels`, part of `make bench`): a report, not a test.

The whole product runs as in production: the repairs service on PostgreSQL (3 workers), the action
server, Rasa (tracker in PostgreSQL, locks in Redis) and the bot process (`python -m bot`) against the
local Telegram Bot API stand-in (tests/telegram_standin.py), which enforces Telegram's flood limit of
30 messages a second across all chats. The bot takes updates by webhook, as README says production
should (`--telegram-mode polling` for the development mode).

1. Update-to-reply latency: verified residents play bench/conversations.py's script through Telegram,
   one chat at a time and then twenty at once, pausing between messages (bench/telegram_conversations.py).
2. A burst of proactive updates: N (1,000) officers' status changes for N residents on N chats, delivered
   by the bot process's delivery worker; time from the first message to the last against the floor the
   flood limit sets (N / 30 s), and every chat checked for a lost, duplicated or misrouted message
   (bench/outbox_burst.py).

    python -m bench.channels_bench             # writes bench/results/channels.md and .json
    python -m bench.channels_bench --quick     # smoke run (writes var/bench/channels-quick.md)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench import conversations as talk
from bench import outbox_burst, telegram_conversations
from bench.assistant_bench import DEFAULT_PG_ADMIN, environment
from bench.assistant_stack import RunningStack, StackConfig, assistant_stack, tenants
from bench.channels_report import render
from bench.loadgen import percentile
from bench.proc_usage import Memory, cpu_delta, cpu_snapshot, tree_memory
from bench.server import machine_ticks, process_tree, wait_for_quiet
from evaluation.rasa_process import ROOT, free_port, managed_process, train, wait_until_ready
from tests.telegram_standin import TelegramStandIn

TARGETS = {"burst_vs_floor": 1.10, "lost": 0, "duplicated": 0}
WORKDIR = ROOT / "var" / "bench" / "channels"
LOCK_KEY = 0x6368616E6E656C73  # a PostgreSQL advisory lock: one channel benchmark at a time per server


@dataclass
class Config:
    model: Path | None
    telegram_mode: str
    conversations_1: int
    conversations_n: int
    concurrency: int
    think: tuple[float, float]
    quiet: float
    notifications: int
    flood_limit: int
    repairs_workers: int
    pg_admin_url: str
    quiet_wait: float
    seed: int
    out: Path
    quick: bool


@dataclass
class Scenario:
    result: talk.LoadResult
    cpu_ms_per_turn: dict[str, float]
    machine_busy_pct: float
    others_busy_pct: float
    bot_relay_ms: list[float] = field(default_factory=list)  # the bot's own time per turn, from its log

    def as_dict(self) -> dict[str, Any]:
        relay = self.bot_relay_ms
        return {**self.result.summary(), "cpu_ms_per_turn": self.cpu_ms_per_turn,
                "machine_busy_pct": round(self.machine_busy_pct, 1), "others_busy_pct": round(self.others_busy_pct, 1),
                "bot_relay": {"n": len(relay), "p50_ms": round(percentile(relay, 50), 1),
                              "p95_ms": round(percentile(relay, 95), 1)}}


@dataclass
class Run:
    startup_s: dict[str, float] = field(default_factory=dict)
    scenarios: list[Scenario] = field(default_factory=list)
    burst: outbox_burst.Burst | None = None
    memory_after: dict[str, Memory] = field(default_factory=dict)
    busy_before_pct: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"startup_s": {k: round(v, 2) for k, v in self.startup_s.items()},
                "scenarios": [s.as_dict() for s in self.scenarios],
                "burst": self.burst.as_dict() if self.burst else None,
                "memory_after_load": {k: m.as_dict() for k, m in self.memory_after.items()},
                "busy_before_pct": self.busy_before_pct, "notes": self.notes}


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the bot process ----------------------------------------------------------------------------------


@dataclass
class Bot:
    process: Any
    started_at: float  # time.monotonic() when the process was started
    startup_s: float  # to answering healthy (its delivery worker may start sending a little before)


@contextmanager
def bot_process(tg: TelegramStandIn, stack: RunningStack, log_file: Path, mode: str) -> Iterator[Bot]:
    """`python -m bot` with its production defaults, pointed at the stand-in and the stack."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BOT_", "RASA_", "REPAIRS_"))}
    env.update({
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url, "TELEGRAM_MODE": mode,
        "TELEGRAM_WEBHOOK_URL": f"{url}/telegram/webhook", "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "BOT_PORT": str(port), "RASA_URL": stack.rasa_url, "RASA_TOKEN": stack.rasa_token,
        "RASA_CHANNEL_SECRET": stack.channel_secret,
        "REPAIRS_API_URL": stack.repairs_url, "REPAIRS_API_TOKEN": stack.repairs_token, "PYTHONUNBUFFERED": "1",
    })

    def ready() -> bool:
        health = httpx.get(f"{url}/healthz", timeout=2)
        return health.status_code == 200 and health.json().get("telegram") == mode

    started = time.monotonic()
    with managed_process([sys.executable, "-m", "bot"], env, log_file) as process:
        wait_until_ready(process, ready, "bot", 60)
        yield Bot(process, started, time.monotonic() - started)


# -- measuring ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuUse:
    ms: dict[str, float]  # CPU ms of each process tree, divided as asked
    machine_busy_pct: float  # of all cores
    others_busy_pct: float  # of all cores, by processes not ours (other people's work on a shared machine)


class Meter:
    """CPU of each process tree, of PostgreSQL's backends for the benchmark databases and of this process
    (the residents and the stand-in) over a scenario; and how much of the machine everything else took."""

    def __init__(self, stack: RunningStack, bot: Bot) -> None:
        self.roots = {name: part.process.pid for name, part in stack.parts.items()} | {"bot": bot.process.pid}
        self.stack = stack

    def _postgres(self) -> list[int]:
        cfg = self.stack.config
        engine = sa.create_engine(cfg.pg_admin_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname IN (:a, :b)"),
                                    {"a": cfg.repairs_db, "b": cfg.tracker_db}).scalars().all()
        finally:
            engine.dispose()
        return [int(r) for r in rows]

    def snapshot(self) -> tuple[dict[str, dict[int, float]], float, tuple[int, int]]:
        trees = {name: cpu_snapshot(process_tree(pid)) for name, pid in self.roots.items()}
        trees["PostgreSQL"] = cpu_snapshot(self._postgres())
        return trees, time.process_time(), machine_ticks()

    def since(self, before: Any, divide_by: int = 1) -> CpuUse:
        after = self.snapshot()
        seconds = {name: cpu_delta(before[0].get(name, {}), snap) for name, snap in after[0].items()}
        seconds["residents and stand-in"] = after[1] - before[1]
        ticks = os.sysconf("SC_CLK_TCK")
        busy_s = (after[2][0] - before[2][0]) / ticks
        total_s = max(1e-9, (after[2][1] - before[2][1]) / ticks)
        others = max(0.0, busy_s - sum(seconds.values())) / total_s * 100
        return CpuUse({k: round(v * 1000 / divide_by, 2) for k, v in seconds.items()}, 100 * busy_s / total_s,
                      others)


def conversations(cfg: Config, run: Run, stack: RunningStack, tg: TelegramStandIn) -> None:
    rng = random.Random(cfg.seed)
    pool = talk.make_conversations(2 + cfg.conversations_1 + cfg.conversations_n, tenants(stack.database_url), rng)
    log(f"verifying {len(pool)} chats through Rasa's signed channel (untimed)")
    talk.verify_all(stack.rasa_url, stack.channel_secret, pool)
    bot_log = WORKDIR / "bot-conversations.log"
    with bot_process(tg, stack, bot_log, cfg.telegram_mode) as bot:
        run.startup_s["bot"] = bot.startup_s
        meter = Meter(stack, bot)
        warm, pool = pool[:2], pool[2:]
        telegram_conversations.run_conversations(tg, "warm-up", warm, concurrency=1, think=(0, 0), seed=cfg.seed,
                                                 quiet=cfg.quiet)
        plan = [("one chat at a time", 1, cfg.conversations_1),
                (f"{cfg.concurrency} chats at once", cfg.concurrency, cfg.conversations_n)]
        for name, concurrency, count in plan:
            run.busy_before_pct[name] = wait_for_quiet(cfg.quiet_wait, name, log)
            chats, pool = pool[:count], pool[count:]
            before, since = meter.snapshot(), datetime.now(UTC)
            result = telegram_conversations.run_conversations(tg, name, chats, concurrency=concurrency,
                                                              think=cfg.think, seed=cfg.seed + concurrency,
                                                              quiet=cfg.quiet)
            cpu = meter.since(before, max(1, len(result.turns)))
            relay = telegram_conversations.relay_ms(bot_log, since, datetime.now(UTC))
            run.scenarios.append(Scenario(result, cpu.ms, cpu.machine_busy_pct, cpu.others_busy_pct, relay))
            s = result.summary()
            log(f"{name}: {s['turns']} turns, p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms, "
                f"errors {s['errors']}; CPU ms/turn {cpu.ms}; others kept {cpu.others_busy_pct:.0f}% of the "
                "machine busy")
        run.memory_after = {name: tree_memory(pid) for name, pid in meter.roots.items()}


def burst(cfg: Config, run: Run, stack: RunningStack, tg: TelegramStandIn) -> None:
    log(f"burst: {cfg.notifications} residents, chats and repairs; an officer moves each repair on (untimed)")
    prepared = outbox_burst.prepare(stack.repairs_url, stack.repairs_token, stack.database_url,
                                    cfg.notifications, cfg.seed)
    log(f"burst: {prepared.pending} messages waiting in the outbox; set-up {prepared.setup_s}")
    for chat in prepared.references:
        tg.open_chat(chat)  # each resident has started the bot, so it may write to them
    before = {chat: len(tg.sent(chat)) for chat in prepared.references}
    run.busy_before_pct["burst"] = wait_for_quiet(cfg.quiet_wait, "burst", log)
    throttled = tg.throttled
    with bot_process(tg, stack, WORKDIR / "bot-burst.log", cfg.telegram_mode) as bot:
        meter = Meter(stack, bot)
        start = meter.snapshot()
        floor = cfg.notifications / cfg.flood_limit
        result = outbox_burst.watch(tg, prepared, stack.database_url, bot_started_at=bot.started_at, before=before,
                                    throttled_before=throttled, timeout=max(60.0, floor * 4), settle=10.0)
        cpu = meter.since(start)
        result.cpu_s = {k: round(v / 1000, 2) for k, v in cpu.ms.items()}
        result.machine_busy_pct = round(cpu.machine_busy_pct, 1)
        result.others_busy_pct = round(cpu.others_busy_pct, 1)
    run.burst = result
    ratio = f"{result.first_to_last_s / result.floor_s:.3f}x the floor" if result.first_to_last_s else "nothing"
    log(f"burst: {result.received} received, first to last {result.first_to_last_s} s ({ratio}); "
        f"lost {result.lost}, duplicated {result.duplicates}, misrouted {result.misrouted}, 429s {result.throttled}")


@contextmanager
def only_run(admin_url: str) -> Iterator[None]:
    """One channel benchmark at a time against a PostgreSQL server, from any checkout: two would drop each
    other's databases (fixed names, so the next run drops a killed run's) and measure each other's load."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")  # no transaction held open meanwhile
    try:
        with engine.connect() as conn:
            if not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
                raise SystemExit("Another channel benchmark is running against this PostgreSQL server; "
                                 "try again when it has finished.")
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
    finally:
        engine.dispose()


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # so every process started is stopped and the databases dropped, as on Ctrl-C


def measure(cfg: Config) -> Run:
    run = Run()
    model = cfg.model or train(ROOT / "models").path
    stack_cfg = StackConfig(stores="production", workdir=WORKDIR, pg_admin_url=cfg.pg_admin_url,
                            repairs_workers=cfg.repairs_workers, repairs_db="repairs_channels_bench",
                            tracker_db="rasa_tracker_channels_bench")
    log("starting the repairs service, the action server and Rasa (production-like stores)")
    with assistant_stack(stack_cfg, model) as stack, TelegramStandIn(flood_limit=cfg.flood_limit) as tg:
        run.startup_s.update({name: part.startup_seconds for name, part in stack.parts.items()})
        for name, step in (("conversations", conversations), ("burst", burst)):
            try:
                step(cfg, run, stack, tg)
            except Exception as exc:  # report what was measured, and why the rest was not
                import traceback

                log(f"{name}: FAILED: {exc!r}\n{traceback.format_exc()}")
                run.notes.append(f"**The {name} part failed** ({type(exc).__name__}: {str(exc)[:300]}). "
                                 f"Logs: {WORKDIR.relative_to(ROOT)}/.")
    return run


# -- main ------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.channels_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run with small numbers")
    parser.add_argument("--model", type=Path, help="this trained model (default: models/, trained if out of date)")
    parser.add_argument("--telegram-mode", choices=["webhook", "polling"], default="webhook")
    parser.add_argument("--conversations-1", type=int, help="conversations one chat at a time (default 10)")
    parser.add_argument("--conversations", type=int, help="conversations at --concurrency (default 60)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--think", default="1,3", help="a resident's pause between messages: min,max seconds")
    parser.add_argument("--quiet", type=float, default=1.0,
                        help="seconds a chat must stay quiet for a turn to count as answered (not timed)")
    parser.add_argument("--notifications", type=int, help="proactive updates in the burst, one per chat (1000)")
    parser.add_argument("--flood-limit", type=int, default=30, help="the stand-in's messages per second")
    parser.add_argument("--repairs-workers", type=int, default=3, help="as docker-compose.yml")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="seconds to wait for other processes to leave the CPUs idle before measuring")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", type=Path, help="Markdown report path (JSON alongside)")
    args = parser.parse_args(argv)
    quick = args.quick
    low, _, high = args.think.partition(",")
    return Config(
        model=args.model, telegram_mode=args.telegram_mode,
        conversations_1=args.conversations_1 or (2 if quick else 10),
        conversations_n=args.conversations or (args.concurrency if quick else 60), concurrency=args.concurrency,
        think=(float(low), float(high or low)), quiet=args.quiet,
        notifications=args.notifications or (100 if quick else 1000), flood_limit=args.flood_limit,
        repairs_workers=args.repairs_workers, pg_admin_url=args.pg_admin_url,
        quiet_wait=5.0 if quick else args.quiet_wait, seed=args.seed,
        # A smoke run's figures are not results: they go to the git-ignored var/.
        out=args.out or (ROOT / "var" / "bench" / "channels-quick.md" if quick
                         else ROOT / "bench" / "results" / "channels.md"),
        quick=quick,
    )


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    started = time.perf_counter()
    env = environment()
    log(f"machine: {env['nproc']} cores, {env['memory_gb']} GB; Telegram by {cfg.telegram_mode}")
    WORKDIR.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        with only_run(cfg.pg_admin_url):
            run = measure(cfg)
    except KeyboardInterrupt:
        log("interrupted: processes stopped, benchmark databases dropped")
        return 130
    env["wall_s"] = round(time.perf_counter() - started, 1)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(cfg).items() if k != "pg_admin_url"}
    markdown = render(env, config, run, TARGETS)
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(markdown)
    json_path = cfg.out.with_suffix(".json")
    json_path.write_text(json.dumps({"environment": env, "config": config, "run": run.as_dict(), "targets": TARGETS},
                                    indent=2, default=str))
    print(markdown)
    log(f"wrote {cfg.out.relative_to(ROOT)} and {json_path.relative_to(ROOT)} in {env['wall_s']:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
